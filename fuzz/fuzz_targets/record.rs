//! Any bytes as a spool line: parsed or refused with a reason, never a
//! panic; and whatever parses re-encodes to a line that parses the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mt::spool::record::{Builder, Record};

fuzz_target!(|line: &[u8]| {
    if let Ok(rec) = Record::parse(line) {
        let mut b = Builder::new(rec.kind);
        for (k, v) in &rec.fields {
            b.field(k, v);
        }
        let again = b.finish();
        assert_eq!(Record::parse(&again[..again.len() - 1]).unwrap(), rec);
    }
});
