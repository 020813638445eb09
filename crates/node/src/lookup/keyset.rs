//! The filter keys one build collected: each held value's F once, with the
//! grant shapes (TLP ceiling, relay right) allowed to learn of it as a bit
//! mask. A value allowed to several shapes is held once rather than once per
//! shape, and shapes that would learn of exactly the same values share one
//! filter construction.
//!
//! This module only holds and splits keys; what a shape may learn is decided
//! by the caller (the disclosure judge), never here.

use liaison_core::record::Tlp;

/// Every grant shape a partner can have: a ceiling and a relay right.
pub(super) fn shapes() -> Vec<(Tlp, bool)> {
    Tlp::ALL
        .iter()
        .flat_map(|t| [(*t, false), (*t, true)])
        .collect()
}

/// F of each value, in change-log order, and the shapes that may learn of it.
pub(super) struct KeySet {
    shapes: Vec<(Tlp, bool)>,
    keys: Vec<(u64, u16)>,
}

impl KeySet {
    pub(super) fn new() -> KeySet {
        let shapes = shapes();
        debug_assert!(shapes.len() <= 16, "a shape mask holds 16 shapes");
        KeySet {
            shapes,
            keys: Vec::new(),
        }
    }

    pub(super) fn shapes(&self) -> &[(Tlp, bool)] {
        &self.shapes
    }

    /// Adds `f` for the shapes at the given indexes of [`KeySet::shapes`].
    pub(super) fn push(&mut self, f: u64, allowed: impl IntoIterator<Item = usize>) {
        let mask = allowed.into_iter().fold(0u16, |m, i| m | (1 << i));
        if mask != 0 {
            self.keys.push((f, mask));
        }
    }

    /// The shapes grouped by the keys they learn (equal key lists together),
    /// each group with those keys; the lists are built one group at a time.
    pub(super) fn groups(&self) -> Vec<Vec<(Tlp, bool)>> {
        let mut groups: Vec<(usize, Vec<(Tlp, bool)>)> = Vec::new();
        for (i, shape) in self.shapes.iter().enumerate() {
            let same = groups
                .iter_mut()
                .find(|(first, _)| self.keys.iter().all(|(_, m)| bit(*m, i) == bit(*m, *first)));
            match same {
                Some((_, members)) => members.push(*shape),
                None => groups.push((i, vec![*shape])),
            }
        }
        groups.into_iter().map(|(_, members)| members).collect()
    }

    /// The keys of one shape (duplicates kept: the count is of records).
    pub(super) fn keys_of(&self, shape: (Tlp, bool)) -> Vec<u64> {
        let Some(i) = self.shapes.iter().position(|s| *s == shape) else {
            return Vec::new();
        };
        self.keys
            .iter()
            .filter(|(_, m)| bit(*m, i))
            .map(|(f, _)| *f)
            .collect()
    }
}

fn bit(mask: u16, i: usize) -> bool {
    mask & (1 << i) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shape_gets_its_keys_and_equal_shapes_are_grouped() {
        let mut set = KeySet::new();
        let n = set.shapes().len();
        set.push(7, [0, 1]);
        set.push(9, [1]);
        set.push(7, [0, 1]);
        set.push(11, []);
        assert_eq!(set.keys_of(set.shapes()[0]), vec![7, 7]);
        assert_eq!(set.keys_of(set.shapes()[1]), vec![7, 9, 7]);
        assert!(set.keys_of(set.shapes()[2]).is_empty());
        let groups = set.groups();
        // Shape 0 alone, shape 1 alone, and every other (empty) shape together.
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[0], vec![set.shapes()[0]]);
        assert_eq!(groups[1], vec![set.shapes()[1]]);
        assert_eq!(groups[2].len(), n - 2);
    }
}
