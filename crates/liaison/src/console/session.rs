//! Who may use the console: the one-time start token, the session cookie it is
//! exchanged for, and each session's CSRF token.
//!
//! Owns the secrets of a console run (all random, from the OS) and the rules
//! for checking them in constant time. It must never log a token or session id,
//! and never accept the start token twice.

use std::collections::HashMap;
use std::sync::Mutex;

use rand_core::{OsRng, RngCore};

/// Random bytes in every token and session id (256 bits).
const SECRET_BYTES: usize = 32;

/// A fresh random secret, hex-encoded.
pub fn random_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Compares two secrets without leaking, through timing, how much of a guess
/// was right.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a start token was not exchanged for a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    Wrong,
    AlreadyUsed,
}

/// The console's sessions: the start token (until it is used) and, per session
/// id, its CSRF token.
pub struct Sessions {
    start_token: Mutex<Option<String>>,
    /// session id -> CSRF token
    active: Mutex<HashMap<String, String>>,
    /// The cookie's name: one per port, so two consoles on one workstation do
    /// not overwrite each other's cookie (cookies ignore the port).
    pub cookie_name: String,
}

impl Sessions {
    pub fn new(start_token: String, port: u16) -> Sessions {
        Sessions {
            start_token: Mutex::new(Some(start_token)),
            active: Mutex::new(HashMap::new()),
            cookie_name: format!("liaison_console_{port}"),
        }
    }

    /// Exchanges the start token for a new session id (once).
    pub fn redeem(&self, given: &str) -> Result<String, TokenRefusal> {
        let mut start = self
            .start_token
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match start.as_deref() {
            None => Err(TokenRefusal::AlreadyUsed),
            Some(token) if !same_secret(token, given) => Err(TokenRefusal::Wrong),
            Some(_) => {
                *start = None;
                let session = random_secret();
                self.active
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .insert(session.clone(), random_secret());
                Ok(session)
            }
        }
    }

    /// The CSRF token of the session named by a request's `Cookie` header, if
    /// it names a live session.
    pub fn csrf_for(&self, cookie_header: &str) -> Option<String> {
        let session = cookie_value(cookie_header, &self.cookie_name)?;
        let active = self
            .active
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        active
            .iter()
            .find(|(id, _)| same_secret(id, session))
            .map(|(_, csrf)| csrf.clone())
    }

    /// The `Set-Cookie` value for a new session: not readable by script, never
    /// sent on a request another site starts, for the whole console.
    pub fn set_cookie(&self, session: &str) -> String {
        format!(
            "{}={session}; HttpOnly; SameSite=Strict; Path=/",
            self.cookie_name
        )
    }
}

/// The value of cookie `name` in a `Cookie` request header.
fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_token_works_once() {
        let sessions = Sessions::new("t0k3n".into(), 8484);
        assert_eq!(sessions.redeem("wrong"), Err(TokenRefusal::Wrong));
        let session = sessions.redeem("t0k3n").expect("first use");
        assert_eq!(sessions.redeem("t0k3n"), Err(TokenRefusal::AlreadyUsed));
        let cookie = format!("other=1; liaison_console_8484={session}");
        assert!(sessions.csrf_for(&cookie).is_some());
    }

    #[test]
    fn an_unknown_or_other_port_cookie_is_no_session() {
        let sessions = Sessions::new("t".into(), 8484);
        let session = sessions.redeem("t").expect("first use");
        assert!(sessions.csrf_for("").is_none());
        assert!(sessions
            .csrf_for(&format!("liaison_console_9999={session}"))
            .is_none());
        assert!(sessions
            .csrf_for(&format!("liaison_console_8484={session}x"))
            .is_none());
    }

    #[test]
    fn secrets_are_random_and_compared_exactly() {
        assert_ne!(random_secret(), random_secret());
        assert_eq!(random_secret().len(), 64);
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }
}
