//! The federation handshake's versions (docs/PROTOCOL.md, "Versions"): what a
//! partner states (protocol major version, features, release) in `Ping` and
//! `PullRequest`, its defaulting when a node of release 0.1.0 states nothing,
//! and the one compatibility decision both ends take: a partner whose protocol
//! this node does not speak is refused, and a partner that lacks a feature is
//! not sent what it cannot read.
//!
//! Pure: no I/O. Must never decide what a partner may receive by sharing rules
//! (that is `disclosure`); only what it can read.

use std::ops::RangeInclusive;

use liaison_core::indicator::{coin_of, Kind};
use liaison_core::proto::{self, feature, FEATURES, FIRST_RELEASE_FEATURES, PROTOCOL_VERSION};
use liaison_core::record::{Body, Payload};

/// The protocol major versions this build speaks.
pub const SPOKEN: RangeInclusive<u32> = PROTOCOL_VERSION..=PROTOCOL_VERSION;
/// Bounds on what a partner's statement may hold (it is shown in `partner list`).
const MAX_FEATURES: usize = 32;
const MAX_NAME: usize = 64;

/// This build's release, as stated to partners.
pub const SOFTWARE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What a partner speaks, after defaulting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerVersion {
    pub protocol: u32,
    pub features: Vec<String>,
    /// The partner's release; empty when it did not say (release 0.1.0).
    pub software: String,
}

impl PeerVersion {
    /// Reads a statement from the wire. Protocol 0 is a node from before the
    /// handshake fields (release 0.1.0): protocol 1 with that release's
    /// features. A node that states a protocol states its features in full, so
    /// an empty list then means none.
    pub fn stated(protocol: u32, features: &[String], software: &str) -> PeerVersion {
        if protocol == 0 {
            return PeerVersion {
                protocol: 1,
                features: FIRST_RELEASE_FEATURES
                    .iter()
                    .map(|f| f.to_string())
                    .collect(),
                software: bounded(software),
            };
        }
        let mut named: Vec<String> = features
            .iter()
            .take(MAX_FEATURES)
            .map(|f| bounded(f))
            .collect();
        named.sort();
        named.dedup();
        PeerVersion {
            protocol,
            features: named,
            software: bounded(software),
        }
    }

    pub fn from_ping(ping: &proto::PingResponse) -> PeerVersion {
        PeerVersion::stated(
            ping.protocol_version,
            &ping.features,
            &ping.software_version,
        )
    }

    pub fn from_pull(request: &proto::PullRequest) -> PeerVersion {
        PeerVersion::stated(
            request.protocol_version,
            &request.features,
            &request.software_version,
        )
    }

    pub fn has(&self, name: &str) -> bool {
        self.features.iter().any(|f| f == name)
    }

    /// Whether Pull batches for this partner may carry bulletin bodies and
    /// their openings.
    pub fn reads_bulletins(&self) -> bool {
        self.has(feature::BULLETINS)
    }

    /// Whether this partner can read a record: the one decision the serving
    /// engine takes for Pull batches and search answers. A partner without a
    /// record's feature would refuse it (an unknown kind, or a wallet its
    /// release re-validates with the first release's rule), so it is withheld.
    pub fn reads(&self, payload: &Payload) -> bool {
        match needed_feature(payload) {
            Some(name) => self.has(name),
            None => true,
        }
    }
}

/// The protocol feature a partner must state to read a record, if any.
pub fn needed_feature(payload: &Payload) -> Option<&'static str> {
    match &payload.body {
        Body::Bulletin(_) => Some(feature::BULLETINS),
        Body::Indicator(indicator) => indicator_feature(indicator.kind, &indicator.value),
        Body::Revocation(_) | Body::Sighting(_) => None,
    }
}

/// The feature an indicator of `kind` with canonical `value` needs, if any.
pub fn indicator_feature(kind: Kind, value: &str) -> Option<&'static str> {
    match kind {
        Kind::Network => Some(feature::KINDS_NETWORK),
        Kind::FileHash => Some(feature::KINDS_FILE_HASH),
        Kind::Wallet => coin_of(value)
            .filter(|coin| !coin.in_first_release())
            .map(|_| feature::WALLETS_COINS),
        _ => None,
    }
}

/// The features whose records are held back from a partner.
const WITHHOLDING: [&str; 4] = [
    feature::BULLETINS,
    feature::KINDS_NETWORK,
    feature::KINDS_FILE_HASH,
    feature::WALLETS_COINS,
];

/// The compatibility decision: Ok, or why the partner is refused (the text a
/// FAILED_PRECONDITION carries and `partner list` shows).
pub fn check(peer: &PeerVersion) -> Result<(), String> {
    if SPOKEN.contains(&peer.protocol) {
        return Ok(());
    }
    let which = if peer.protocol > *SPOKEN.end() {
        "upgrade this node to a release that speaks it"
    } else {
        "the partner must upgrade"
    };
    Err(format!(
        "partner speaks protocol {}; this node speaks {} ({which}; see docs/OPERATIONS.md, Releases)",
        peer.protocol,
        spoken_text()
    ))
}

/// What `partner list` says about a compatible partner's missing features
/// (what the serving engine holds back); empty when nothing is held back.
pub fn withheld(peer: &PeerVersion) -> String {
    let missing: Vec<&str> = WITHHOLDING
        .into_iter()
        .filter(|name| !peer.has(name))
        .collect();
    match missing.is_empty() {
        true => String::new(),
        false => format!("withheld: partner lacks {}", missing.join(", ")),
    }
}

/// The `partner list` line for a partner: refused, withheld, or empty.
pub fn compatibility(peer: &PeerVersion) -> String {
    match check(peer) {
        Err(reason) => format!("incompatible: {reason}"),
        Ok(()) => withheld(peer),
    }
}

/// Our statement, on a Ping answer.
pub fn ping_response(now_unix_ms: i64) -> proto::PingResponse {
    proto::PingResponse {
        now_unix_ms,
        protocol_version: PROTOCOL_VERSION,
        features: ours(),
        software_version: SOFTWARE_VERSION.into(),
    }
}

/// Our statement, on a Pull request.
pub fn pull_request(cursor: u64) -> proto::PullRequest {
    proto::PullRequest {
        cursor,
        protocol_version: PROTOCOL_VERSION,
        features: ours(),
        software_version: SOFTWARE_VERSION.into(),
    }
}

fn ours() -> Vec<String> {
    FEATURES.iter().map(|f| f.to_string()).collect()
}

fn spoken_text() -> String {
    match SPOKEN.start() == SPOKEN.end() {
        true => SPOKEN.start().to_string(),
        false => format!("{} to {}", SPOKEN.start(), SPOKEN.end()),
    }
}

fn bounded(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn a_node_that_states_nothing_is_protocol_1_with_the_first_release_features() {
        let old = PeerVersion::stated(0, &[], "");
        assert_eq!(old.protocol, 1);
        assert_eq!(old.features, names(FIRST_RELEASE_FEATURES));
        assert!(old.reads_bulletins());
        assert_eq!(check(&old), Ok(()));
        assert_eq!(
            compatibility(&old),
            "withheld: partner lacks kinds.network, kinds.file-hash, wallets.coins"
        );
        // The same from either place it is stated.
        assert_eq!(PeerVersion::from_ping(&proto::PingResponse::default()), old);
        assert_eq!(PeerVersion::from_pull(&proto::PullRequest::default()), old);
    }

    #[test]
    fn a_stated_protocol_takes_its_features_as_given() {
        let peer = PeerVersion::stated(1, &names(&["heads", "receipts", "heads"]), "0.3.0");
        assert_eq!(peer.features, names(&["heads", "receipts"]));
        assert!(!peer.reads_bulletins());
        assert_eq!(check(&peer), Ok(()));
        assert_eq!(
            compatibility(&peer),
            "withheld: partner lacks bulletins, kinds.network, kinds.file-hash, wallets.coins"
        );
        let none = PeerVersion::stated(1, &[], "0.3.0");
        assert!(none.features.is_empty(), "stated in full: empty means none");
    }

    #[test]
    fn ours_round_trips_as_this_build() {
        let me = PeerVersion::from_ping(&ping_response(0));
        assert_eq!(me, PeerVersion::from_pull(&pull_request(7)));
        assert_eq!(me.protocol, PROTOCOL_VERSION);
        assert_eq!(me.software, SOFTWARE_VERSION);
        assert_eq!(check(&me), Ok(()));
        assert_eq!(compatibility(&me), "");
    }

    #[test]
    fn another_major_version_is_refused_with_the_way_out() {
        let newer = PeerVersion::stated(2, &names(FEATURES), "1.0.0");
        let reason = check(&newer).unwrap_err();
        assert!(
            reason.starts_with("partner speaks protocol 2; this node speaks 1 (upgrade this node"),
            "{reason}"
        );
        assert!(compatibility(&newer).starts_with("incompatible: partner speaks protocol 2"));
        let reason = check(&PeerVersion::stated(u32::MAX, &[], "")).unwrap_err();
        assert!(reason.contains(&u32::MAX.to_string()), "{reason}");
    }

    #[test]
    fn new_kinds_and_coins_need_their_features() {
        let cases = [
            (
                Kind::Network,
                "198.51.100.0/24",
                Some(feature::KINDS_NETWORK),
            ),
            (
                Kind::FileHash,
                "da39a3ee5e6b4b0d3255bfef95601890afd80709",
                Some(feature::KINDS_FILE_HASH),
            ),
            (
                Kind::Wallet,
                "DRq8DVXBXNHTPyBctM1Wdx39wUxU47Fwyt",
                Some(feature::WALLETS_COINS),
            ),
            (
                Kind::Wallet,
                "bitcoincash:qp7ps3x5k2dslw25rmgk89zfpywxj4yjkvyz09t2qm",
                Some(feature::WALLETS_COINS),
            ),
            (
                Kind::Wallet,
                "ltc1qx88q7zjd74lxwgkjmmwlqv5pd3vujuehexfttt",
                Some(feature::WALLETS_COINS),
            ),
            // What release 0.1.0 already accepted flows to everyone.
            (Kind::Wallet, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", None),
            (
                Kind::Wallet,
                "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                None,
            ),
            (Kind::Wallet, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", None),
            (
                Kind::Wallet,
                "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
                None,
            ),
            (Kind::Ip, "198.51.100.7", None),
        ];
        let old = PeerVersion::stated(0, &[], "");
        let me = PeerVersion::from_ping(&ping_response(0));
        for (kind, value, needed) in cases {
            assert_eq!(indicator_feature(kind, value), needed, "{kind}:{value}");
            if let Some(name) = needed {
                assert!(!old.has(name), "0.1.0 never stated {name}");
                assert!(me.has(name), "this build states {name}");
                assert!(!FIRST_RELEASE_FEATURES.contains(&name));
            }
        }
        // Revocations and sightings carry no value: every partner reads them.
        let revocation = Payload {
            origin: liaison_core::record::NodeId([1; 32]),
            sequence: 1,
            created_ms: 0,
            body: Body::Revocation(liaison_core::record::Revocation {
                record_id: liaison_core::record::RecordId([2; 32]),
                reason: "withdrawn".into(),
            }),
        };
        assert!(old.reads(&revocation));
    }

    #[test]
    fn a_statement_is_bounded() {
        let many: Vec<String> = (0..1000).map(|n| format!("f{n}")).collect();
        let long = "x".repeat(10_000);
        let peer = PeerVersion::stated(1, &many, &format!("{long}\n"));
        assert_eq!(peer.features.len(), MAX_FEATURES);
        assert_eq!(peer.software.len(), MAX_NAME);
    }
}
