//! File hashes (kind `file-hash`): MD5, SHA-1 or SHA-256 written as lower-case
//! hex; the algorithm follows from the length (32, 40 or 64 digits). An input
//! may name its algorithm (`sha256:…`, `SHA-1:…`, `md5 …`), which must agree
//! with the length; the canonical value is the bare hex.

use super::{invalid, IndicatorError, Kind, Normalized};

/// The hash algorithms a `file-hash` value may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    Md5,
    Sha1,
    Sha256,
}

impl HashAlgorithm {
    /// The lower-case name shown in views (`md5`, `sha1`, `sha256`; MISP's types).
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlgorithm::Md5 => "md5",
            HashAlgorithm::Sha1 => "sha1",
            HashAlgorithm::Sha256 => "sha256",
        }
    }

    /// The STIX 2.1 hash-algorithm-ov name (`MD5`, `SHA-1`, `SHA-256`).
    pub fn stix_name(self) -> &'static str {
        match self {
            HashAlgorithm::Md5 => "MD5",
            HashAlgorithm::Sha1 => "SHA-1",
            HashAlgorithm::Sha256 => "SHA-256",
        }
    }

    fn hex_digits(self) -> usize {
        match self {
            HashAlgorithm::Md5 => 32,
            HashAlgorithm::Sha1 => 40,
            HashAlgorithm::Sha256 => 64,
        }
    }

    /// Reads an algorithm name as MISP, STIX or an analyst writes it.
    pub fn from_name(name: &str) -> Option<HashAlgorithm> {
        match name
            .trim()
            .to_ascii_lowercase()
            .replace(['-', '_'], "")
            .as_str()
        {
            "md5" => Some(HashAlgorithm::Md5),
            "sha1" => Some(HashAlgorithm::Sha1),
            "sha256" => Some(HashAlgorithm::Sha256),
            _ => None,
        }
    }
}

/// The algorithm of a canonical `file-hash` value, from its length.
pub fn hash_algorithm(value: &str) -> Option<HashAlgorithm> {
    let algorithm = match value.len() {
        32 => HashAlgorithm::Md5,
        40 => HashAlgorithm::Sha1,
        64 => HashAlgorithm::Sha256,
        _ => return None,
    };
    value
        .bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then_some(algorithm)
}

pub(super) fn normalize(input: &str) -> Result<Normalized, IndicatorError> {
    let text = input.trim();
    let (named, hex) = match text.split_once([':', ' ']) {
        Some((name, hex)) => {
            let algorithm = HashAlgorithm::from_name(name).ok_or_else(|| {
                invalid(
                    Kind::FileHash,
                    format!(
                        "{} is not a supported hash algorithm (md5, sha1, sha256)",
                        crate::untrusted::quote(name)
                    ),
                )
            })?;
            (Some(algorithm), hex.trim())
        }
        None => (None, text),
    };
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(
            Kind::FileHash,
            "a file hash is hex digits only (0-9, a-f)",
        ));
    }
    let algorithm = hash_algorithm(hex).ok_or_else(|| {
        invalid(
            Kind::FileHash,
            format!(
                "{} hex digits is not a supported hash length (MD5 32, SHA-1 40, SHA-256 64)",
                hex.len()
            ),
        )
    })?;
    if let Some(named) = named.filter(|&n| n != algorithm) {
        return Err(invalid(
            Kind::FileHash,
            format!(
                "{} needs {} hex digits, found {}",
                named.stix_name(),
                named.hex_digits(),
                hex.len()
            ),
        ));
    }
    Ok(Normalized::new(Kind::FileHash, hex.to_ascii_lowercase()))
}
