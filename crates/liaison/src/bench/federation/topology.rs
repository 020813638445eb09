//! The shape of a bench federation: a tree of relay partners rooted at the
//! publishing node, with one chain reaching the requested depth, plus a few
//! meshed direct links; and each node's hop count from the publisher (the
//! shortest path over every link). Pure logic, no I/O.

use std::collections::VecDeque;

/// Undirected partner links between node indexes.
#[derive(Debug, Clone)]
pub struct Topology {
    pub nodes: usize,
    pub links: Vec<(usize, usize)>,
}

impl Topology {
    /// `nodes` nodes: 0..=depth form a chain (so some node is `depth` hops
    /// away); every other node hangs under an earlier node less than `depth`
    /// deep, spread round-robin; then up to `mesh` extra links join nodes of
    /// the same depth in different branches.
    pub fn tree(nodes: usize, depth: usize, mesh: usize) -> Topology {
        let depth = depth.clamp(1, nodes.saturating_sub(1).max(1));
        let mut level = vec![0usize; nodes];
        let mut links = Vec::new();
        for i in 1..nodes {
            let parent = if i <= depth {
                i - 1
            } else {
                // Earlier nodes that may still take a child (level < depth).
                let open: Vec<usize> = (0..i).filter(|&p| level[p] < depth).collect();
                open[(i * 7) % open.len()]
            };
            level[i] = level[parent] + 1;
            links.push((parent, i));
        }
        let mut topology = Topology { nodes, links };
        // Meshed links join nodes at the same depth (in different branches where
        // there are several): they add paths without shortening any node's hop
        // count from the root, so the tree keeps its depth.
        let mut pairs = Vec::new();
        for depth_here in 1..=depth {
            let same: Vec<usize> = (1..nodes).filter(|&n| level[n] == depth_here).collect();
            for (i, &a) in same.iter().enumerate() {
                let b = same[(i + same.len() / 2) % same.len()];
                pairs.push((a.min(b), a.max(b)));
            }
        }
        // Spread the chosen links over the depths: every third candidate first.
        pairs.sort_by_key(|&(a, b)| ((a * 7 + b) % 3, a, b));
        for (a, b) in pairs {
            if topology.links.len() >= nodes - 1 + mesh {
                break;
            }
            if a != b && !topology.linked(a, b) {
                topology.links.push((a, b));
            }
        }
        topology
    }

    pub fn linked(&self, a: usize, b: usize) -> bool {
        self.links
            .iter()
            .any(|&(x, y)| (x, y) == (a, b) || (x, y) == (b, a))
    }

    /// Hops from node `from` to every node (breadth-first over the links).
    pub fn hops_from(&self, from: usize) -> Vec<usize> {
        let mut hops = vec![usize::MAX; self.nodes];
        let mut queue = VecDeque::from([from]);
        hops[from] = 0;
        while let Some(n) = queue.pop_front() {
            for &(a, b) in &self.links {
                let next = match (a == n, b == n) {
                    (true, _) => b,
                    (_, true) => a,
                    _ => continue,
                };
                if hops[next] == usize::MAX {
                    hops[next] = hops[n] + 1;
                    queue.push_back(next);
                }
            }
        }
        hops
    }
}

#[cfg(test)]
mod tests {
    use super::Topology;

    #[test]
    fn a_tree_reaches_exactly_the_depth_and_connects_every_node() {
        for (nodes, depth, mesh) in [(50, 5, 6), (6, 3, 1), (2, 5, 0), (10, 1, 0)] {
            let t = Topology::tree(nodes, depth, mesh);
            let hops = t.hops_from(0);
            assert!(
                hops.iter().all(|&h| h != usize::MAX),
                "{nodes}: all reachable"
            );
            let deepest = *hops.iter().max().unwrap();
            assert!(deepest <= depth.max(1), "{nodes}/{depth}: {deepest}");
            assert!(t.links.len() >= nodes - 1);
        }
        let t = Topology::tree(50, 5, 6);
        assert_eq!(t.links.len(), 49 + 6);
        assert_eq!(
            *t.hops_from(0).iter().max().unwrap(),
            5,
            "mesh keeps the depth"
        );
    }
}
