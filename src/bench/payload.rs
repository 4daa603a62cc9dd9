//! The header every bench message carries, so a subscriber can tell which
//! publisher sent it, in what order, and when, without any side channel.
//!
//! ```text
//! offset  size  field
//!  0      2     magic `MF`
//!  2      1     version (1)
//!  3      1     flags (bit 0: sent during the warm-up)
//!  4      4     run id (big endian): messages of another run are foreign
//!  8      4     publisher index
//! 12      8     sequence number, from 0 per publisher
//! 20      8     send time, nanoseconds since the run's epoch (a monotonic clock
//!               of this process: publishers and subscribers share it)
//! 28      ...   filler up to the payload size
//! ```

/// Bytes of the header; the smallest payload bench can send.
pub const HEADER_LEN: usize = 28;

const MAGIC: [u8; 2] = *b"MF";
const VERSION: u8 = 1;
const FLAG_WARMUP: u8 = 1;

/// What a message says about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub run_id: u32,
    pub publisher: u32,
    pub sequence: u64,
    pub sent_nanos: u64,
    pub warmup: bool,
}

impl Header {
    /// The payload of `len` bytes (at least [`HEADER_LEN`]) carrying this header.
    pub fn encode(&self, len: usize) -> Vec<u8> {
        let mut bytes = vec![0u8; len.max(HEADER_LEN)];
        bytes[0..2].copy_from_slice(&MAGIC);
        bytes[2] = VERSION;
        bytes[3] = if self.warmup { FLAG_WARMUP } else { 0 };
        bytes[4..8].copy_from_slice(&self.run_id.to_be_bytes());
        bytes[8..12].copy_from_slice(&self.publisher.to_be_bytes());
        bytes[12..20].copy_from_slice(&self.sequence.to_be_bytes());
        bytes[20..28].copy_from_slice(&self.sent_nanos.to_be_bytes());
        bytes
    }

    /// The header of a payload, or `None` when it is not a bench message.
    pub fn decode(bytes: &[u8]) -> Option<Header> {
        if bytes.len() < HEADER_LEN || bytes[0..2] != MAGIC || bytes[2] != VERSION {
            return None;
        }
        let u32_at = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap_or([0; 4]));
        let u64_at = |at: usize| u64::from_be_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
        Some(Header {
            warmup: bytes[3] & FLAG_WARMUP != 0,
            run_id: u32_at(4),
            publisher: u32_at(8),
            sequence: u64_at(12),
            sent_nanos: u64_at(20),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            run_id: 0xdead_beef,
            publisher: 41,
            sequence: 1 << 40,
            sent_nanos: 123_456_789_012,
            warmup: true,
        }
    }

    #[test]
    fn round_trips_at_every_size() {
        for len in [0, HEADER_LEN, 256, 4096] {
            let bytes = sample().encode(len);
            assert_eq!(bytes.len(), len.max(HEADER_LEN));
            assert_eq!(Header::decode(&bytes), Some(sample()));
        }
        let steady = Header {
            warmup: false,
            ..sample()
        };
        assert_eq!(Header::decode(&steady.encode(64)), Some(steady));
    }

    #[test]
    fn refuses_what_bench_did_not_send() {
        assert_eq!(Header::decode(b"hello"), None);
        assert_eq!(Header::decode(&[0u8; 64]), None);
        let mut other_version = sample().encode(64);
        other_version[2] = 2;
        assert_eq!(Header::decode(&other_version), None);
        assert_eq!(Header::decode(&sample().encode(64)[..HEADER_LEN - 1]), None);
    }
}
