#![no_main]
//! `audit FILE`: kind detection from the text, then that kind's extractor.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mqttforge_fuzz::audit_detected("input", data));
