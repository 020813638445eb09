//! Who may use the console: the one-time start token, the session cookie it is
//! exchanged for, each session's CSRF token, and when a session ends (idle for
//! too long, or simply too old).
//!
//! Owns the secrets of a console run (all random, from the OS) and the rules
//! for checking them in constant time. It must never log a token or session id,
//! never accept the start token twice, and never revive an ended session.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// How long a session lives: it ends after `idle` without a request, and
/// `lifetime` after it began whatever its use.
#[derive(Debug, Clone, Copy)]
pub struct Expiry {
    pub idle: Duration,
    pub lifetime: Duration,
}

/// What a request's cookie names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// A live session, with its CSRF token.
    Live(String),
    /// A session that was live and has ended (idle or too old).
    Expired,
    /// No session of this console.
    None,
}

struct Session {
    csrf: String,
    began: Instant,
    last_seen: Instant,
}

/// The console's sessions: the start token (until it is used) and, per session
/// id, its CSRF token and times.
pub struct Sessions {
    start_token: Mutex<Option<String>>,
    /// session id -> its CSRF token and times
    active: Mutex<HashMap<String, Session>>,
    expiry: Expiry,
    /// The cookie's name: one per port, so two consoles on one workstation do
    /// not overwrite each other's cookie (cookies ignore the port).
    pub cookie_name: String,
}

impl Sessions {
    pub fn new(start_token: String, port: u16, expiry: Expiry) -> Sessions {
        Sessions {
            start_token: Mutex::new(Some(start_token)),
            active: Mutex::new(HashMap::new()),
            expiry,
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
                let now = Instant::now();
                self.active
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .insert(
                        session.clone(),
                        Session {
                            csrf: random_secret(),
                            began: now,
                            last_seen: now,
                        },
                    );
                Ok(session)
            }
        }
    }

    /// What the session named by a request's `Cookie` header is; a live one is
    /// counted as used now. An ended session is forgotten, so its cookie stays
    /// refused however it is used next.
    pub fn access(&self, cookie_header: &str) -> Access {
        self.access_at(cookie_header, Instant::now())
    }

    fn access_at(&self, cookie_header: &str, now: Instant) -> Access {
        let Some(given) = cookie_value(cookie_header, &self.cookie_name) else {
            return Access::None;
        };
        let mut active = self
            .active
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(id) = active.keys().find(|id| same_secret(id, given)).cloned() else {
            return Access::None;
        };
        let Some(session) = active.get_mut(&id) else {
            return Access::None;
        };
        let idle = now.saturating_duration_since(session.last_seen) >= self.expiry.idle;
        let old = now.saturating_duration_since(session.began) >= self.expiry.lifetime;
        if idle || old {
            active.remove(&id);
            return Access::Expired;
        }
        session.last_seen = now;
        Access::Live(session.csrf.clone())
    }

    /// The CSRF token of a live session named by the `Cookie` header.
    pub fn csrf_for(&self, cookie_header: &str) -> Option<String> {
        match self.access(cookie_header) {
            Access::Live(csrf) => Some(csrf),
            Access::Expired | Access::None => None,
        }
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

    const HOUR: Duration = Duration::from_secs(3600);
    const EXPIRY: Expiry = Expiry {
        idle: HOUR,
        lifetime: Duration::from_secs(12 * 3600),
    };

    #[test]
    fn the_start_token_works_once() {
        let sessions = Sessions::new("t0k3n".into(), 8484, EXPIRY);
        assert_eq!(sessions.redeem("wrong"), Err(TokenRefusal::Wrong));
        let session = sessions.redeem("t0k3n").expect("first use");
        assert_eq!(sessions.redeem("t0k3n"), Err(TokenRefusal::AlreadyUsed));
        let cookie = format!("other=1; liaison_console_8484={session}");
        assert!(sessions.csrf_for(&cookie).is_some());
    }

    #[test]
    fn an_unknown_or_other_port_cookie_is_no_session() {
        let sessions = Sessions::new("t".into(), 8484, EXPIRY);
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
    fn a_session_ends_when_idle_or_too_old_and_stays_ended() {
        let sessions = Sessions::new("t".into(), 8484, EXPIRY);
        let session = sessions.redeem("t").expect("first use");
        let cookie = format!("liaison_console_8484={session}");
        let start = Instant::now();
        // Used every 50 minutes (never idle), it lives until its 12 hours are up.
        let mut ended_at = None;
        for step in 1..=15u64 {
            let at = start + Duration::from_secs(step * 50 * 60);
            match sessions.access_at(&cookie, at) {
                Access::Live(_) => assert!(step * 50 < 720, "still live after 12 h"),
                Access::Expired => {
                    ended_at = Some(step);
                    break;
                }
                Access::None => panic!("the session vanished at step {step}"),
            }
        }
        assert_eq!(ended_at, Some(15), "ends at the first use past 12 h");
        assert_eq!(sessions.access_at(&cookie, start), Access::None);

        let idle = Sessions::new("t".into(), 8484, EXPIRY);
        let session = idle.redeem("t").expect("first use");
        let cookie = format!("liaison_console_8484={session}");
        let start = Instant::now();
        assert!(matches!(
            idle.access_at(&cookie, start + HOUR / 2),
            Access::Live(_)
        ));
        assert_eq!(idle.access_at(&cookie, start + HOUR * 2), Access::Expired);
        // Ended is ended: not revived by a later request.
        assert_eq!(idle.access_at(&cookie, start + HOUR * 2), Access::None);
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
