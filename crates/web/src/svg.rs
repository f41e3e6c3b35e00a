//! Inline SVG charts drawn from numbers: stacked bars over time, a share ring and
//! horizontal bars. No script, no external asset; labels go through [`esc`].

use crate::html::{esc, time};
use std::fmt::Write as _;

/// Colours of the verdicts, indexed like `Verdict::ALL` (benign, noise, unknown, relevant, urgent).
pub const VERDICT_COLOURS: [&str; 5] = ["#9aa5b1", "#c8d1da", "#e0b000", "#e07000", "#c62828"];

/// One stack of the time chart: its start and its values per series.
#[derive(Debug, Clone)]
pub struct Stack {
    /// Start of the bucket, milliseconds since the epoch.
    pub start_ms: i64,
    /// Value of each series.
    pub values: Vec<u64>,
}

/// Stacked bars over time, one bar per bucket, series coloured by `colours`.
pub fn stacked_bars(
    id: &str,
    title: &str,
    stacks: &[Stack],
    series: &[&str],
    colours: &[&str],
) -> String {
    let (w, h, left, bottom, top) = (720.0f64, 220.0f64, 48.0f64, 24.0f64, 8.0f64);
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg id=\"{}\" class=\"chart\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {w} {h}\" \
         width=\"{w}\" height=\"{h}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title>",
        esc(id),
        esc(title),
        esc(title)
    );
    let max = stacks
        .iter()
        .map(|s| s.values.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_w = w - left - 4.0;
    let plot_h = h - bottom - top;
    let _ = write!(
        out,
        "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#888\"/>\
         <text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{max}</text>\
         <text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">0</text>",
        top + plot_h,
        w - 4.0,
        top + plot_h,
        left - 4.0,
        top + 10.0,
        left - 4.0,
        top + plot_h
    );
    if stacks.is_empty() {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">no findings yet</text>",
            left + plot_w / 2.0,
            top + plot_h / 2.0
        );
    }
    let n = stacks.len().max(1) as f64;
    let bw = (plot_w / n).max(1.0);
    for (i, s) in stacks.iter().enumerate() {
        let x = left + i as f64 * bw;
        let mut y = top + plot_h;
        let total: u64 = s.values.iter().sum();
        let _ = write!(out, "<g><title>{}: {total}", esc(&time(s.start_ms)));
        for (k, v) in s.values.iter().enumerate() {
            if *v > 0 {
                let _ = write!(out, ", {} {v}", esc(series.get(k).copied().unwrap_or("")));
            }
        }
        out.push_str("</title>");
        for (k, v) in s.values.iter().enumerate() {
            if *v == 0 {
                continue;
            }
            let bh = *v as f64 / max as f64 * plot_h;
            y -= bh;
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{}\"/>",
                (bw - 1.0).max(0.5),
                colours.get(k).copied().unwrap_or("#888")
            );
        }
        out.push_str("</g>");
    }
    if let (Some(first), Some(last)) = (stacks.first(), stacks.last()) {
        let _ = write!(
            out,
            "<text x=\"{left}\" y=\"{}\" font-size=\"10\">{}</text>\
             <text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{}</text>",
            h - 6.0,
            esc(&time(first.start_ms)),
            w - 4.0,
            h - 6.0,
            esc(&time(last.start_ms))
        );
    }
    out.push_str("</svg>");
    out
}

/// A ring showing `part` of `whole` as a share, with the percentage in the middle.
pub fn share_ring(id: &str, title: &str, part: u64, whole: u64) -> String {
    let share = if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    };
    let (r, c) = (50.0f64, 60.0f64);
    let circ = 2.0 * std::f64::consts::PI * r;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg id=\"{}\" class=\"chart\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 120 120\" \
         width=\"120\" height=\"120\" xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title>\
         <circle cx=\"{c}\" cy=\"{c}\" r=\"{r}\" fill=\"none\" stroke=\"#eee\" stroke-width=\"16\"/>\
         <circle cx=\"{c}\" cy=\"{c}\" r=\"{r}\" fill=\"none\" stroke=\"#5b8def\" stroke-width=\"16\" \
         stroke-dasharray=\"{:.2} {:.2}\" transform=\"rotate(-90 {c} {c})\"/>\
         <text x=\"{c}\" y=\"{}\" font-size=\"18\" text-anchor=\"middle\">{:.1}%</text></svg>",
        esc(id),
        esc(title),
        esc(title),
        share * circ,
        circ,
        c + 6.0,
        share * 100.0
    );
    out
}

/// Horizontal bars, one per labelled value, longest first as given.
pub fn hbars(id: &str, title: &str, rows: &[(String, u64)], colour: &str) -> String {
    let (w, row_h, label_w) = (720.0f64, 20.0f64, 300.0f64);
    let h = (rows.len().max(1) as f64) * row_h + 8.0;
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg id=\"{}\" class=\"chart\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {w} {h}\" \
         width=\"{w}\" height=\"{h}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title>",
        esc(id),
        esc(title),
        esc(title)
    );
    if rows.is_empty() {
        let _ = write!(out, "<text x=\"8\" y=\"16\" font-size=\"12\">none</text>");
    }
    for (i, (label, v)) in rows.iter().enumerate() {
        let y = 4.0 + i as f64 * row_h;
        let bw = *v as f64 / max as f64 * (w - label_w - 60.0);
        let shown: String = label.chars().take(44).collect();
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>\
             <rect x=\"{label_w}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{v}</text>",
            label_w - 6.0,
            y + 13.0,
            esc(&shown),
            bw.max(1.0),
            row_h - 4.0,
            label_w + bw + 4.0,
            y + 13.0
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_labels_and_scale() {
        let s = hbars(
            "c",
            "t",
            &[("<b>x</b>".into(), 10), ("y".into(), 5)],
            "#000",
        );
        assert!(s.contains("&lt;b&gt;x&lt;/b&gt;") && !s.contains("<b>"));
        let b = stacked_bars(
            "v",
            "t",
            &[Stack {
                start_ms: 0,
                values: vec![1, 2],
            }],
            &["a", "b"],
            &["#111", "#222"],
        );
        assert_eq!(b.matches("<rect").count(), 2);
        assert!(share_ring("r", "t", 1, 4).contains("25.0%"));
    }
}
