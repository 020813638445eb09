//! The bench's results as data: every figure with its unit under a dotted key
//! (`sync.records_per_second`, `sync.ratio_to_batch_verify`…), plus the series
//! the plots are drawn from, written as `bench.json` and a `bench.md` table.
//!
//! This module only records and writes what the measurements hand it; it must
//! never measure anything itself.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{json, Map, Value};

/// One point of a curve against the number of stored records.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CurvePoint {
    pub records: u64,
    pub sync_records_per_second: f64,
    /// Against the one-core batch-verify rate measured just before and after.
    pub sync_ratio_to_batch_verify: f64,
    pub search_p50_ms: f64,
    pub search_p99_ms: f64,
    /// The same, measured again once the node had settled (large points only).
    pub settled_search_p50_ms: Option<f64>,
    pub settled_search_p99_ms: Option<f64>,
    pub disk_bytes_per_record: f64,
    pub envelope_bytes_per_record: f64,
    pub node_peak_rss_mb: Option<f64>,
}

/// Every figure of one run, in the order measured.
#[derive(Default)]
pub struct Report {
    figures: Vec<(String, f64, &'static str, String)>,
    pub curve: Vec<CurvePoint>,
    /// Propagation latencies (ms) A→B and A→B→C, as measured (for the CDF).
    pub propagation_ms: Vec<(String, Vec<f64>)>,
    pub context: Map<String, Value>,
}

impl Report {
    /// Records a figure; `note` says what it is (shown in the table).
    pub fn add(&mut self, key: &str, value: f64, unit: &'static str, note: &str) {
        self.figures
            .push((key.to_string(), value, unit, note.to_string()));
    }

    /// The JSON document: `{"figures": {key: {"value", "unit", "note"}}, …}`.
    pub fn to_json(&self) -> Value {
        let mut figures = Map::new();
        for (key, value, unit, note) in &self.figures {
            figures.insert(
                key.clone(),
                json!({ "value": finite(*value), "unit": unit, "note": note }),
            );
        }
        json!({
            "context": self.context,
            "figures": figures,
            "curve": self.curve,
            "propagation_ms": self.propagation_ms.iter()
                .map(|(name, samples)| json!({ "path": name, "samples": samples }))
                .collect::<Vec<_>>(),
        })
    }

    pub fn to_markdown(&self) -> String {
        let mut md = String::from("# liaison bench\n\n");
        for (key, value) in &self.context {
            md.push_str(&format!("- {key}: {value}\n"));
        }
        md.push_str("\n| figure | value | unit | note |\n| --- | ---: | --- | --- |\n");
        for (key, value, unit, note) in &self.figures {
            md.push_str(&format!(
                "| `{key}` | {} | {unit} | {note} |\n",
                shown(*value)
            ));
        }
        if !self.curve.is_empty() {
            md.push_str("\n| records | sync /s | search p50 ms | search p99 ms | disk B/record | envelope B/record | node peak RSS MB |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
            for p in &self.curve {
                let rss = p.node_peak_rss_mb.map(shown).unwrap_or_else(|| "-".into());
                md.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} | {rss} |\n",
                    p.records,
                    shown(p.sync_records_per_second),
                    shown(p.search_p50_ms),
                    shown(p.search_p99_ms),
                    shown(p.disk_bytes_per_record),
                    shown(p.envelope_bytes_per_record),
                ));
            }
        }
        md
    }

    /// Writes `bench.json`, `bench.md` and the plots into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("--out: {}", dir.display()))?;
        let json = serde_json::to_string_pretty(&self.to_json())?;
        std::fs::write(dir.join("bench.json"), json)?;
        std::fs::write(dir.join("bench.md"), self.to_markdown())?;
        super::plot::curves(self, dir)?;
        super::plot::propagation_cdf(&self.propagation_ms, &dir.join("propagation-cdf.svg"))?;
        Ok(())
    }
}

/// JSON has no NaN or infinity: a figure that could not be computed is null.
fn finite(value: f64) -> Value {
    if value.is_finite() {
        json!(value)
    } else {
        Value::Null
    }
}

fn shown(value: f64) -> String {
    match value.abs() {
        v if v >= 100.0 => format!("{value:.0}"),
        v if v >= 1.0 => format!("{value:.2}"),
        _ => format!("{value:.3}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_keep_their_units_and_non_finite_values_become_null() {
        let mut report = Report::default();
        report.add("sync.records_per_second", 1234.5, "records/s", "A to B");
        report.add("sync.ratio_to_batch_verify", f64::NAN, "ratio", "");
        let json = report.to_json();
        assert_eq!(
            json["figures"]["sync.records_per_second"]["unit"],
            "records/s"
        );
        assert!(json["figures"]["sync.ratio_to_batch_verify"]["value"].is_null());
        assert!(report
            .to_markdown()
            .contains("| `sync.records_per_second` | 1234 | records/s |"));
    }
}
