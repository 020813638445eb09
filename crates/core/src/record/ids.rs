//! Fixed-size identifiers: a node id is an Ed25519 public key, a record id is the
//! SHA-256 of a record's signed content. Both print as lower-case hex.

use std::fmt;
use std::str::FromStr;

use super::RecordError;

macro_rules! hex_id {
    ($name:ident, $what:literal) => {
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            pub fn from_slice(bytes: &[u8]) -> Result<Self, RecordError> {
                let array: [u8; 32] = bytes.try_into().map_err(|_| {
                    RecordError::field($what, format!("must be 32 bytes, got {}", bytes.len()))
                })?;
                Ok(Self(array))
            }

            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// The first 8 hex digits, for log lines and tables.
            pub fn short(&self) -> String {
                hex::encode(&self.0[..4])
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }

        impl FromStr for $name {
            type Err = RecordError;
            fn from_str(s: &str) -> Result<Self, RecordError> {
                let bytes = hex::decode(s.trim()).map_err(|_| {
                    RecordError::field(
                        $what,
                        format!("{} is not 64 hex digits", crate::untrusted::quote(s)),
                    )
                })?;
                Self::from_slice(&bytes)
            }
        }
    };
}

hex_id!(NodeId, "node id");
hex_id!(RecordId, "record id");
