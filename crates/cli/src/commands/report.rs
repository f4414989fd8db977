//! `tandem report RUN_DIR`: figures (SVG and PNG) of a run's loss and energy terms, learning rate,
//! throughput, collapse metrics and probe accuracy against steps, and a Markdown summary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::Value;

/// Arguments of `tandem report`.
#[derive(clap::Args)]
pub struct Args {
    /// Run folder written by `tandem train`.
    pub run_dir: PathBuf,
    /// Where to write the report (default: RUN_DIR/report).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// One small chart: a title and named series of (x, y) points.
struct Panel {
    title: String,
    x_label: &'static str,
    series: Vec<(String, Vec<(f64, f64)>)>,
}

/// Keys of step lines that are not energy terms.
const STEP_KEYS: &[&str] = &["kind", "step", "epoch", "loss", "lr", "pairs_per_s", "data_wait_fraction"];

fn read_metrics(path: &Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| format!("{}: line {} is not JSON", path.display(), i + 1))
        })
        .collect()
}

/// Groups the metric lines into panels.
fn panels(lines: &[Value]) -> Vec<Panel> {
    let mut by_key: BTreeMap<(String, String), Vec<(f64, f64)>> = BTreeMap::new();
    for v in lines {
        let (Some(kind), Some(step)) = (v["kind"].as_str(), v["step"].as_f64()) else { continue };
        let Some(obj) = v.as_object() else { continue };
        for (k, x) in obj {
            let Some(y) = x.as_f64() else { continue };
            let key = match kind {
                "step" if k == "loss" => ("0 loss".to_string(), "loss".to_string()),
                "step" if k == "lr" => ("2 learning rate".to_string(), "lr".to_string()),
                "step" if k == "pairs_per_s" => ("3 pairs per second".to_string(), "pairs/s".to_string()),
                "step" if !STEP_KEYS.contains(&k.as_str()) => (format!("1 {k}"), k.clone()),
                "collapse" if k != "step" => {
                    let (output, metric) = k.split_once('.').unwrap_or(("", k));
                    (format!("4 {metric}"), output.to_string())
                }
                "knn" if k == "knn_top1" => ("5 online kNN top-1".to_string(), "held-out slice".to_string()),
                _ => continue,
            };
            by_key.entry(key).or_default().push((step, y));
        }
    }
    let mut out: Vec<Panel> = Vec::new();
    for ((title, series), mut pts) in by_key {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let title = title.split_once(' ').map_or(title.clone(), |(_, t)| t.to_string());
        match out.last_mut() {
            Some(p) if p.title == title => p.series.push((series, pts)),
            _ => out.push(Panel { title, x_label: "step", series: vec![(series, pts)] }),
        }
    }
    out
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, panels: &[Panel]) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let e = |err: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing: {err}");
    root.fill(&WHITE).map_err(e)?;
    let cols = panels.len().clamp(1, 3);
    let rows = panels.len().div_ceil(cols);
    for (area, p) in root.split_evenly((rows, cols)).iter().zip(panels) {
        let pts = p.series.iter().flat_map(|(_, s)| s.iter());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in pts.filter(|(_, y)| y.is_finite()) {
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
        if x0 > x1 {
            continue;
        }
        let pad = ((y1 - y0) * 0.05).max(1e-9 + y1.abs() * 1e-3);
        let mut chart = ChartBuilder::on(area)
            .caption(&p.title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1.max(x0 + 1.0), (y0 - pad)..(y1 + pad))
            .map_err(e)?;
        chart.configure_mesh().x_desc(p.x_label).label_style(("sans-serif", 12)).draw().map_err(e)?;
        for (i, (name, s)) in p.series.iter().enumerate() {
            let colour = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(s.iter().copied(), colour.stroke_width(2)))
                .map_err(e)?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
            // Short series (probes, collapse readings) also get markers, so a single point shows.
            if s.len() <= 60 {
                chart.draw_series(s.iter().map(|&p| Circle::new(p, 3, colour.filled()))).map_err(e)?;
            }
        }
        if p.series.len() > 1 {
            chart
                .configure_series_labels()
                .label_font(("sans-serif", 12))
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(e)?;
        }
    }
    root.present().map_err(e)?;
    Ok(())
}

fn summary(run: &Path, lines: &[Value], figure: &str) -> String {
    let steps: Vec<&Value> = lines.iter().filter(|v| v["kind"] == "step").collect();
    let mut rates: Vec<f64> = steps.iter().filter_map(|v| v["pairs_per_s"].as_f64()).collect();
    rates.sort_by(f64::total_cmp);
    let median = rates.get(rates.len() / 2).copied();
    let last = steps.last();
    let probe = lines.iter().rev().find(|v| v["kind"] == "final_probe");
    let knn: Vec<String> = lines
        .iter()
        .filter(|v| v["kind"] == "knn")
        .filter_map(|v| Some(format!("epoch {}: {:.1}%", v["epoch"], 100.0 * v["knn_top1"].as_f64()?)))
        .collect();
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap_or_default();
    let device = std::fs::read_to_string(run.join("run.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["adapter"].as_str().map(str::to_string))
        .unwrap_or_else(|| "not recorded".into());
    let pct = |v: &Value| v.as_f64().map_or("-".into(), |a| format!("{:.1}%", 100.0 * a));
    let mut md = format!("# Run report: {}\n\n![overview]({figure})\n\n", run.display());
    md += &format!("- device: {device}\n");
    md +=
        &format!("- steps logged: {}, last step {}\n", steps.len(), last.map_or("-".into(), |v| v["step"].to_string()));
    if let Some(l) = last {
        md += &format!("- last logged loss: {}\n", l["loss"]);
    }
    if let Some(m) = median {
        md += &format!("- throughput: {m:.0} pairs/s (median over logged steps)\n");
    }
    if !knn.is_empty() {
        md += &format!("- online kNN top-1 on the held-out slice: {}\n", knn.join(", "));
    }
    if let Some(p) = probe {
        md += &format!(
            "- final probes on {} held-out samples: kNN top-1 {} (random encoder {}), linear top-1 {} (random encoder {})\n",
            p["n_query"],
            pct(&p["knn_top1"]),
            pct(&p["random_knn_top1"]),
            pct(&p["linear_top1"]),
            pct(&p["random_linear_top1"])
        );
    }
    md += &format!("\n## Configuration\n\n```toml\n{config}```\n");
    md
}

/// Runs `tandem report`.
pub fn run(args: &Args) -> Result<()> {
    let metrics = args.run_dir.join("metrics.jsonl");
    let lines = read_metrics(&metrics)?;
    let panels = panels(&lines);
    if panels.is_empty() {
        bail!("{} holds no step metrics to plot", metrics.display());
    }
    let out = args.out.clone().unwrap_or_else(|| args.run_dir.join("report"));
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    plotters::style::register_font("sans-serif", FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT)
        .map_err(|_| anyhow!("the built-in font could not be loaded"))?;
    let rows = panels.len().div_ceil(3) as u32;
    let size = (1500, 340 * rows);
    let (svg, png) = (out.join("overview.svg"), out.join("overview.png"));
    draw(SVGBackend::new(&svg, size).into_drawing_area(), &panels)?;
    draw(BitMapBackend::new(&png, size).into_drawing_area(), &panels)?;
    let md = out.join("report.md");
    std::fs::write(&md, summary(&args.run_dir, &lines, "overview.png"))
        .with_context(|| format!("cannot write {}", md.display()))?;
    println!("wrote {}, {} and {}", svg.display(), png.display(), md.display());
    Ok(())
}
