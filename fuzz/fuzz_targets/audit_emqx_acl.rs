#![no_main]
//! `audit --kind emqx-acl`: the Erlang-terms parser and EMQX ACL facts.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mqttforge_fuzz::audit("emqx-acl", "acl.conf", data));
