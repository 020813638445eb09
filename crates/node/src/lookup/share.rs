//! The asking side's own budget: how many evaluations each of this agency's
//! analysts may spend per UTC day. A partner counts its quota per asking node,
//! so without this one analyst (or one leaked certificate) could spend the
//! whole agency's daily quota at every partner before anyone noticed.
//!
//! Counted in memory by the caller's certificate identity (role and name), as
//! the partner's own quota is; a restart forgives the day's count. This module
//! must never count a partner's request (crate::lookup::serve does that).

use std::collections::HashMap;
use std::sync::Mutex;

use super::LookupError;

const MS_PER_DAY: i64 = 86_400_000;

/// Evaluations spent today, per analyst.
#[derive(Default)]
pub struct AnalystShares {
    spent: Mutex<HashMap<String, (i64, u32)>>,
}

impl AnalystShares {
    /// Takes `evaluations` from `analyst`'s share of today (`share` a day), or
    /// refuses without taking any.
    pub fn take(
        &self,
        analyst: &str,
        evaluations: u32,
        share: u32,
        now_ms: i64,
    ) -> Result<u32, LookupError> {
        let today = now_ms / MS_PER_DAY;
        let mut spent = self
            .spent
            .lock()
            .map_err(|_| LookupError::Invalid("lookup shares unavailable".into()))?;
        let entry = spent.entry(analyst.to_string()).or_insert((today, 0));
        if entry.0 != today {
            *entry = (today, 0);
        }
        if entry.1.saturating_add(evaluations) > share {
            return Err(LookupError::QuotaExhausted(format!(
                "your share of this agency's lookups ({share} evaluations a day at each partner, lookup.analyst_daily_share) is used up; it resets at 00:00 UTC, or an admin can raise it"
            )));
        }
        entry.1 += evaluations;
        Ok(share - entry.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_analyst_spends_only_their_share_and_it_resets_each_day() {
        let shares = AnalystShares::default();
        let day = 20_000 * MS_PER_DAY;
        assert_eq!(shares.take("analyst \"dana\"", 2, 3, day).unwrap(), 1);
        assert!(matches!(
            shares.take("analyst \"dana\"", 2, 3, day),
            Err(LookupError::QuotaExhausted(_))
        ));
        // Refused without taking: one evaluation is still left.
        assert_eq!(shares.take("analyst \"dana\"", 1, 3, day).unwrap(), 0);
        assert_eq!(shares.take("analyst \"eve\"", 3, 3, day).unwrap(), 0);
        assert_eq!(
            shares
                .take("analyst \"dana\"", 3, 3, day + MS_PER_DAY)
                .unwrap(),
            0
        );
    }
}
