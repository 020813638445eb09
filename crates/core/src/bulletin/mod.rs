//! Bulletins: signed records that group indicators into a case or
//! campaign, shared so that a receiver never learns the id of a member it may
//! not see.
//!
//! The signed body lists each member as a commitment
//! `SHA-256("liaison/v1/bulletin-member\0" ‖ salt ‖ record id)` with a fresh
//! random 16-byte salt per member. The origin keeps the openings (record id,
//! salt) in its store; whoever serves the bulletin attaches only the openings of
//! members it would itself serve to that receiver (`serve`), and the receiver
//! checks each against its commitment (`receive`). The bulletin is never edited
//! or re-encoded per receiver.
//!
//! This module owns the commitment scheme and the opening side data on the wire
//! (publishing, serving and receiving are the node's `bulletin` module). It must
//! never accept an opening that does not match its commitment.

use sha2::{Digest, Sha256};

use crate::proto;
use crate::record::{Bulletin, RecordId};

/// Domain separation of member commitments from every other hash in Liaison.
const COMMITMENT_CONTEXT: &[u8] = b"liaison/v1/bulletin-member\0";

/// What opens the commitment at `position` of a bulletin's member list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opening {
    pub position: u32,
    pub record_id: RecordId,
    pub salt: [u8; 16],
}

/// The commitment to one member.
pub fn commitment(salt: &[u8; 16], record_id: &RecordId) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(COMMITMENT_CONTEXT);
    hasher.update(salt);
    hasher.update(record_id.0);
    hasher.finalize().into()
}

/// A fresh random salt (the OS generator): without it a receiver could test
/// guessed record ids against the commitments.
pub fn new_salt() -> [u8; 16] {
    use rand_core::RngCore;
    let mut salt = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut salt);
    salt
}

/// Commits to each member with its own salt; the openings are in member order.
pub fn commit_members(members: &[RecordId]) -> (Vec<[u8; 32]>, Vec<Opening>) {
    members
        .iter()
        .zip(0u32..)
        .map(|(id, position)| {
            let salt = new_salt();
            let opening = Opening {
                position,
                record_id: *id,
                salt,
            };
            (commitment(&salt, id), opening)
        })
        .unzip()
}

/// Why an opening does not open the bulletin's commitment at its position.
pub fn check_opening(bulletin: &Bulletin, opening: &Opening) -> Result<(), String> {
    let Some(committed) = bulletin.members.get(opening.position as usize) else {
        return Err(format!(
            "position {} is beyond the bulletin's {} members",
            opening.position,
            bulletin.members.len()
        ));
    };
    match commitment(&opening.salt, &opening.record_id) == *committed {
        true => Ok(()),
        false => Err(format!(
            "does not match the commitment at position {}",
            opening.position
        )),
    }
}

pub fn opening_to_wire(opening: &Opening) -> proto::MemberOpening {
    proto::MemberOpening {
        position: opening.position,
        record_id: opening.record_id.0.to_vec(),
        salt: opening.salt.to_vec(),
    }
}

/// Shape only (lengths); the commitment is checked by [`check_opening`].
pub fn opening_from_wire(wire: &proto::MemberOpening) -> Result<Opening, String> {
    let record_id =
        RecordId::from_slice(&wire.record_id).map_err(|_| "record_id: not 32 bytes".to_string())?;
    let salt = <[u8; 16]>::try_from(wire.salt.as_slice())
        .map_err(|_| format!("salt: {} bytes; expected 16", wire.salt.len()))?;
    Ok(Opening {
        position: wire.position,
        record_id,
        salt,
    })
}

#[cfg(test)]
mod tests;
