#![no_main]
//! `audit --kind pem-cert`: the PEM certificate reader.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mqttforge_fuzz::audit("pem-cert", "server.pem", data));
