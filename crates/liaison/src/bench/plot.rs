//! SVG plots of a bench run (plotters, SVG backend only): throughput and
//! latency against the number of stored records, and the propagation latency
//! CDF; and, for `bench federation`, propagation by hop count.
//!
//! Plots are drawn from figures already measured; this module never measures.

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::prelude::*;

use super::report::Report;

const SIZE: (u32, u32) = (760, 440);
const COLOURS: [RGBColor; 4] = [BLUE, RED, GREEN, MAGENTA];

/// One named line: (x, y) points.
pub type Series = (String, Vec<(f64, f64)>);

/// `throughput-vs-records.svg` and `latency-vs-records.svg` (x on a log scale).
pub fn curves(report: &Report, dir: &Path) -> Result<()> {
    if report.curve.is_empty() {
        return Ok(());
    }
    let log = |n: u64| (n.max(1) as f64).log10();
    let sync: Vec<_> = report
        .curve
        .iter()
        .map(|p| (log(p.records), p.sync_records_per_second))
        .collect();
    lines(
        &dir.join("throughput-vs-records.svg"),
        "Initial sync rate against records held",
        ("records (log scale)", "records/s"),
        &[("sync A -> B".into(), sync)],
        true,
    )?;
    let p50: Vec<_> = report
        .curve
        .iter()
        .map(|p| (log(p.records), p.search_p50_ms))
        .collect();
    let p99: Vec<_> = report
        .curve
        .iter()
        .map(|p| (log(p.records), p.search_p99_ms))
        .collect();
    lines(
        &dir.join("latency-vs-records.svg"),
        "Search latency (gRPC over mTLS) against records held",
        ("records (log scale)", "ms"),
        &[("search p50".into(), p50), ("search p99".into(), p99)],
        true,
    )
}

/// The cumulative distribution of each path's latencies.
pub fn propagation_cdf(paths: &[(String, Vec<f64>)], file: &Path) -> Result<()> {
    let series: Vec<Series> = paths
        .iter()
        .filter(|(_, samples)| !samples.is_empty())
        .map(|(name, samples)| (name.clone(), cdf(samples)))
        .collect();
    if series.is_empty() {
        return Ok(());
    }
    lines(
        file,
        "Propagation latency, publish to visible in search (CDF)",
        ("ms", "fraction of records"),
        &series,
        false,
    )
}

/// Sorted samples as (value, fraction at or below it).
pub fn cdf(samples: &[f64]) -> Vec<(f64, f64)> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    sorted
        .into_iter()
        .enumerate()
        .map(|(i, v)| (v, (i + 1) as f64 / n))
        .collect()
}

/// Draws line series; `log_x` means x holds log10 values, labelled as powers.
pub fn lines(
    file: &Path,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    series: &[Series],
    log_x: bool,
) -> Result<()> {
    let draw_err = |e: &dyn std::fmt::Display| anyhow!("plot {}: {e}", file.display());
    let points = series.iter().flat_map(|(_, p)| p.iter());
    let (mut x0, mut x1, mut y1) = (f64::MAX, f64::MIN, 0f64);
    for &(x, y) in points {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return Ok(());
    }
    let pad = ((x1 - x0) * 0.05).max(0.05);
    let (x0, x1, y1) = (x0 - pad, x1 + pad, (y1 * 1.1).max(1e-3));
    let root = SVGBackend::new(file, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| draw_err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, 0f64..y1)
        .map_err(|e| draw_err(&e))?;
    let x_label = |x: &f64| match log_x {
        true => format!("{:.0}", 10f64.powf(*x)),
        false => format!("{x:.1}"),
    };
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&x_label)
        .draw()
        .map_err(|e| draw_err(&e))?;
    for (i, (name, points)) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                colour.stroke_width(2),
            ))
            .map_err(|e| draw_err(&e))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| draw_err(&e))?;
    root.present().map_err(|e| draw_err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cdf_rises_to_one_in_sorted_order() {
        let cdf = super::cdf(&[3.0, 1.0, 2.0, 4.0]);
        assert_eq!(cdf.first(), Some(&(1.0, 0.25)));
        assert_eq!(cdf.last(), Some(&(4.0, 1.0)));
    }
}
