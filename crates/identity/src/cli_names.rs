//! The command line's name for the role (with the `clap` feature): clap
//! `ValueEnum`, so `--help` and the shell completions list the allowed roles. The
//! core's enumerations have theirs in `liaison_core::cli_names`. This module must
//! never hold a rule of its own about what a value means.

use clap::builder::PossibleValue;
use clap::ValueEnum;

use crate::identity::Role;

impl ValueEnum for Role {
    fn value_variants<'a>() -> &'a [Self] {
        &[Role::Analyst, Role::Admin]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            Role::Analyst => PossibleValue::new("analyst")
                .help("search, publish, revoke and sight; no partner or client management"),
            Role::Admin => PossibleValue::new("admin")
                .help("everything an analyst may, plus partners, client revocation and identity"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The clap spelling of every role is the one `Role::from_str` parses back.
    #[test]
    fn every_role_round_trips_through_from_str() {
        for variant in Role::value_variants() {
            let value = variant.to_possible_value().expect("named");
            for name in value.get_name_and_aliases() {
                let Ok(parsed) = name.parse::<Role>() else {
                    panic!("FromStr refuses the clap name {name}");
                };
                assert_eq!(&parsed, variant, "{name}");
            }
        }
    }
}
