#![no_main]
//! `audit --kind rumqttd`: the rumqttd TOML reader and its checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mqttforge_fuzz::audit("rumqttd", "rumqttd.toml", data));
