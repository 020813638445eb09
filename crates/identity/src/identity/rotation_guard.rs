//! Whether a new TLS rotation may replace the one in force (issue 20 item 4).
//!
//! A node keeps one rotated-out certificate (`tls/previous.*`): a partner that
//! has not yet acknowledged the last rotation still pins the certificate before
//! it, and can be told only over that one. A second rotation inside the grace
//! period would delete it, and the partner could reach the node neither way
//! (it refuses the new certificate, the node refuses its stale view) until it
//! enrolls the node again. So a rotation is refused while the previous one is in
//! grace and a partner enrolled before it has not acknowledged it, unless the
//! operator forces it, knowing exactly whom it locks out.
//!
//! This is the only place that decides it: the live rotation (Admin.RotateTls),
//! the offline CLI and `doctor` all ask here. It must never let a rotation
//! through silently when it would lock a partner out.

use super::error::IdentityError;
use super::rotation::Rotation;
use liaison_core::record::NodeId;

/// An enrolled partner, as the decision needs it.
pub struct Enrolled<'a> {
    pub id: NodeId,
    pub name: &'a str,
    /// When it was enrolled here (ms since the epoch).
    pub added_ms: i64,
}

impl Rotation {
    /// Whether `partner`, enrolled at `added_ms`, still waits to be told of
    /// this rotation: enrolled before it, not acknowledged, grace not over. A
    /// partner enrolled after the rotation took the new certificate from its
    /// bundle; once the grace is over, nobody can be told any more.
    pub fn awaits(&self, partner: &NodeId, added_ms: i64, now_ms: i64) -> bool {
        now_ms < self.file.old_valid_until_ms
            && added_ms <= self.file.rotated_ms
            && !self.announced_to(partner)
    }
}

/// The names of the partners a new rotation now would lock out (sorted);
/// empty when it is safe.
pub fn would_lock_out<'a>(
    rotation: Option<&Rotation>,
    partners: impl IntoIterator<Item = Enrolled<'a>>,
    now_ms: i64,
) -> Vec<String> {
    let Some(rotation) = rotation else {
        return Vec::new();
    };
    let mut names: Vec<String> = partners
        .into_iter()
        .filter(|p| rotation.awaits(&p.id, p.added_ms, now_ms))
        .map(|p| p.name.to_string())
        .collect();
    names.sort();
    names
}

/// Refuses a rotation that would lock partners out, unless `force`. Returns
/// the partners it locks out (empty, or the forced ones).
pub fn check_rotation<'a>(
    rotation: Option<&Rotation>,
    partners: impl IntoIterator<Item = Enrolled<'a>>,
    force: bool,
) -> Result<Vec<String>, IdentityError> {
    let now = liaison_core::now_ms();
    let locked_out = would_lock_out(rotation, partners, now);
    if locked_out.is_empty() || force {
        return Ok(locked_out);
    }
    let until = rotation.map_or(now, |r| r.file.old_valid_until_ms);
    Err(IdentityError::RotationPending {
        partners: locked_out
            .iter()
            .map(|name| format!("{name:?}"))
            .collect::<Vec<_>>()
            .join(", "),
        until: humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(until.max(0) as u64),
        )
        .to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{load_rotation, promote_staged_tls, stage_tls_rotation, NodeDir};

    fn rotated(grace_seconds: u64) -> (tempfile::TempDir, NodeDir) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = NodeDir::new(tmp.path().join("node"));
        dir.init_identity("Agency R (example)").unwrap();
        stage_tls_rotation(&dir, "Agency R (example)").unwrap();
        promote_staged_tls(&dir, grace_seconds).unwrap().unwrap();
        (tmp, dir)
    }

    #[test]
    fn a_second_rotation_waits_for_every_partner_enrolled_before_the_first() {
        let (_tmp, dir) = rotated(600);
        let rotation = load_rotation(&dir).unwrap().unwrap();
        let at = rotation.file.rotated_ms;
        let (b, c, late) = (NodeId([1; 32]), NodeId([2; 32]), NodeId([3; 32]));
        let partners = || {
            vec![
                Enrolled {
                    id: c,
                    name: "Agency C (example)",
                    added_ms: at - 5,
                },
                Enrolled {
                    id: b,
                    name: "Agency B (example)",
                    added_ms: at - 10,
                },
                // Enrolled after the rotation: it took the new certificate.
                Enrolled {
                    id: late,
                    name: "Agency L (example)",
                    added_ms: at + 1,
                },
            ]
        };
        let now = liaison_core::now_ms();
        assert_eq!(
            would_lock_out(Some(&rotation), partners(), now),
            ["Agency B (example)", "Agency C (example)"]
        );
        let refused = check_rotation(Some(&rotation), partners(), false).unwrap_err();
        let message = refused.to_string();
        assert!(
            message.contains("\"Agency B (example)\", \"Agency C (example)\""),
            "{message}"
        );
        assert!(message.contains("--force"), "{message}");
        assert_eq!(
            check_rotation(Some(&rotation), partners(), true).unwrap(),
            ["Agency B (example)", "Agency C (example)"],
            "forcing names whom it locks out"
        );

        // Acknowledgements are durable: a restart (reload) keeps them.
        rotation.mark_announced(b).unwrap();
        let reloaded = load_rotation(&dir).unwrap().unwrap();
        assert_eq!(
            would_lock_out(Some(&reloaded), partners(), now),
            ["Agency C (example)"]
        );
        reloaded.mark_announced(c).unwrap();
        let reloaded = load_rotation(&dir).unwrap().unwrap();
        assert!(check_rotation(Some(&reloaded), partners(), false)
            .unwrap()
            .is_empty());

        // After the grace period nobody can be told any more: nothing to wait for.
        let fresh = load_rotation(&rotated(600).1).unwrap().unwrap();
        let over = fresh.file.old_valid_until_ms;
        assert!(would_lock_out(Some(&fresh), partners(), over).is_empty());
        assert!(would_lock_out(None, partners(), now).is_empty());
    }
}
