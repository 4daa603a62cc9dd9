#![no_main]
//! `audit --kind pem-key`: the PEM private key reader.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mqttforge_fuzz::audit("pem-key", "server.key", data));
