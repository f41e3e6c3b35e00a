//! Packet captures never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = scantriage_ingest::pcap::read_capture(data, |_| {});
});
