//! sshd and netfilter lines (syslog, RFC 3339 and journal JSON envelopes) never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scantriage_ingest::{InputFormat, PrefixActions, SyslogContext, SystemParser};

fuzz_target!(|data: &[u8]| {
    let p = SystemParser {
        format: InputFormat::Syslog,
        ctx: SyslogContext::default(),
        actions: PrefixActions::default(),
    };
    let _ = p.parse(data);
    let _ = scantriage_ingest::detect_input(data, &[data]);
});
