#![no_main]
//! `audit --kind mosquitto-conf`: the Mosquitto configuration parser and its facts.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mqttforge_fuzz::audit(
    "mosquitto-conf",
    "mosquitto.conf",
    data
));
