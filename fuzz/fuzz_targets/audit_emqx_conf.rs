#![no_main]
//! `audit --kind emqx-conf`: the HOCON parser and EMQX's facts.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mqttforge_fuzz::audit("emqx-conf", "emqx.conf", data));
