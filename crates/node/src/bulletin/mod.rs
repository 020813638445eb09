//! Bulletins on this node: publishing one (through the one publish pipeline),
//! the openings served to each receiver, checking received openings, and the
//! analyst's view. The commitment scheme itself is `liaison_core::bulletin`.
//!
//! This module must never attach an opening for a member the receiver may not
//! receive, and never store an opening that does not match its commitment.

mod publish;
mod receive;
pub mod rpc;
mod serve;
mod view;

pub use liaison_core::bulletin::*;
pub use publish::BulletinDraft;
pub use receive::check_openings;
pub use serve::openings_for;
pub use view::{bulletin_refs, view_of};
