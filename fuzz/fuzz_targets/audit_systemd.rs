#![no_main]
//! `audit --kind systemd`: the systemd unit reader.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mqttforge_fuzz::audit(
    "systemd",
    "mosquitto.service",
    data
));
