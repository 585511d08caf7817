#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| quorumlab_fuzz::url(data));
