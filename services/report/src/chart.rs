//! Charts with plotters, to PNG (bitmap backend) or SVG: the event timeline per day by quad
//! class, the top dyads and the most active actors, each with a title, axis labels and a legend.
//!
//! Text is drawn with ab_glyph from a TrueType font loaded from the system (DejaVu Sans or
//! Liberation Sans, or the file named by `NEWSFLOW_CHART_FONT`): plotters' own font lookup
//! needs fontconfig at build time, which the service images do not carry.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use chrono::{Duration, NaiveDate};
use plotters::coord::Shift;
use plotters::prelude::*;
use sqlx::PgPool;

use crate::filters::Filters;
use crate::query::{self, QueryError};

/// Where fonts are looked for, in order, after `NEWSFLOW_CHART_FONT`.
pub const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation/LiberationSans-Regular.ttf",
];

/// Errors drawing a chart.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error(
        "no TrueType font for chart text: set NEWSFLOW_CHART_FONT to a .ttf file or install \
         fonts-dejavu-core (looked in {0})"
    )]
    NoFont(String),
    #[error("chart output must end in .png or .svg, got {0}")]
    Extension(String),
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    #[error(transparent)]
    Query(#[from] QueryError),
}

fn draw_err<E: std::fmt::Debug>(e: E) -> ChartError {
    ChartError::Draw(format!("{e:?}"))
}

static FONT: OnceLock<Result<(), String>> = OnceLock::new();

/// Loads and registers the chart font once per process.
pub fn ensure_font() -> Result<(), ChartError> {
    FONT.get_or_init(|| {
        let mut candidates: Vec<String> = Vec::new();
        if let Ok(path) = std::env::var("NEWSFLOW_CHART_FONT") {
            candidates.push(path);
        }
        candidates.extend(FONT_PATHS.iter().map(|p| (*p).to_owned()));
        for path in &candidates {
            let Ok(bytes) = std::fs::read(path) else {
                continue;
            };
            // plotters keeps registered fonts for the life of the process.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                tracing::debug!(font = %path, "chart font loaded");
                return Ok(());
            }
        }
        Err(candidates.join(", "))
    })
    .clone()
    .map_err(ChartError::NoFont)
}

/// The three charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ChartKind {
    /// Events per day, one line per quad class.
    Timeline,
    /// The busiest source → target dyads.
    Dyads,
    /// The most active actors, as source and as target.
    Actors,
}

impl ChartKind {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "timeline" => Some(Self::Timeline),
            "dyads" => Some(Self::Dyads),
            "actors" => Some(Self::Actors),
            _ => None,
        }
    }
}

pub const QUAD_CLASS_NAMES: [&str; 4] = [
    "1 verbal cooperation",
    "2 material cooperation",
    "3 verbal conflict",
    "4 material conflict",
];

fn quad_color(q: usize) -> RGBColor {
    [
        RGBColor(46, 139, 87),
        RGBColor(30, 100, 200),
        RGBColor(230, 140, 20),
        RGBColor(200, 30, 40),
    ][q % 4]
}

/// What a chart shows, fetched from Postgres.
#[derive(Debug, Clone, PartialEq)]
pub enum ChartData {
    Timeline {
        days: Vec<NaiveDate>,
        /// Events per day for quad classes 1..=4.
        counts: [Vec<i64>; 4],
    },
    Dyads {
        labels: Vec<String>,
        events: Vec<i64>,
        goldstein: Vec<f64>,
    },
    Actors {
        labels: Vec<String>,
        as_source: Vec<i64>,
        as_target: Vec<i64>,
    },
}

/// Number of bars in the dyad and actor charts when no smaller limit is given.
const MAX_BARS: u32 = 15;

/// Queries the data of `kind` with `filters`.
pub async fn load(
    pool: &PgPool,
    kind: ChartKind,
    filters: &Filters,
) -> Result<ChartData, ChartError> {
    let mut f = filters.clone();
    f.limit = f.limit.min(MAX_BARS);
    Ok(match kind {
        ChartKind::Timeline => {
            let rows = query::timeline(pool, filters).await?;
            let by_day: BTreeMap<NaiveDate, [i64; 4]> =
                rows.iter().fold(BTreeMap::new(), |mut m, (day, q, n)| {
                    let slot = m.entry(*day).or_insert([0; 4]);
                    if let Some(c) = slot.get_mut(usize::try_from(q - 1).unwrap_or(0)) {
                        *c += n;
                    }
                    m
                });
            let first = filters.from.or_else(|| by_day.keys().next().copied());
            let last = filters.to.or_else(|| by_day.keys().next_back().copied());
            let mut days = Vec::new();
            if let (Some(first), Some(last)) = (first, last) {
                let mut d = first;
                while d <= last {
                    days.push(d);
                    d += Duration::days(1);
                }
            }
            let mut counts: [Vec<i64>; 4] = Default::default();
            for d in &days {
                let c = by_day.get(d).copied().unwrap_or([0; 4]);
                for (q, series) in counts.iter_mut().enumerate() {
                    series.push(c[q]);
                }
            }
            ChartData::Timeline { days, counts }
        }
        ChartKind::Dyads => {
            let rows = query::dyads(pool, &f).await?;
            ChartData::Dyads {
                labels: rows
                    .iter()
                    .map(|r| format!("{} → {}", r.source_code, r.target_code))
                    .collect(),
                events: rows.iter().map(|r| r.events).collect(),
                goldstein: rows.iter().map(|r| r.mean_goldstein).collect(),
            }
        }
        ChartKind::Actors => {
            let rows = query::actors(pool, &f).await?;
            ChartData::Actors {
                labels: rows.iter().map(|r| r.actor_code.clone()).collect(),
                as_source: rows.iter().map(|r| r.as_source).collect(),
                as_target: rows.iter().map(|r| r.as_target).collect(),
            }
        }
    })
}

/// Chart size in pixels.
pub const SIZE: (u32, u32) = (1000, 560);

fn range_text(filters: &Filters) -> String {
    match (filters.from, filters.to) {
        (Some(f), Some(t)) => format!(", {f} to {t}"),
        (Some(f), None) => format!(", from {f}"),
        (None, Some(t)) => format!(", until {t}"),
        (None, None) => String::new(),
    }
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &ChartData,
    filters: &Filters,
) -> Result<(), ChartError> {
    root.fill(&WHITE).map_err(draw_err)?;
    let range = range_text(filters);
    match data {
        ChartData::Timeline { days, counts } => {
            let n = days.len().max(1);
            let max = counts.iter().flatten().copied().max().unwrap_or(0).max(1);
            let mut chart = ChartBuilder::on(root)
                .caption(
                    format!("Events per day by quad class{range}"),
                    ("sans-serif", 26),
                )
                .margin(16)
                .x_label_area_size(50)
                .y_label_area_size(60)
                // One empty day on each side keeps the first and last date labels inside the picture.
                .build_cartesian_2d(-1..(n as i32), 0i64..(max + max / 10 + 1))
                .map_err(draw_err)?;
            let label_days = days.clone();
            chart
                .configure_mesh()
                .x_desc("event date")
                .y_desc("events")
                .x_labels(8.min(n))
                .x_label_formatter(&|i| {
                    usize::try_from(*i)
                        .ok()
                        .and_then(|i| label_days.get(i))
                        .map(|d| d.format("%Y-%m-%d").to_string())
                        .unwrap_or_default()
                })
                .label_style(("sans-serif", 14))
                .axis_desc_style(("sans-serif", 16))
                .draw()
                .map_err(draw_err)?;
            for (q, series) in counts.iter().enumerate() {
                let color = quad_color(q);
                let points: Vec<(i32, i64)> = series
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (i as i32, *v))
                    .collect();
                chart
                    .draw_series(LineSeries::new(points.clone(), color.stroke_width(3)))
                    .map_err(draw_err)?
                    .label(QUAD_CLASS_NAMES[q])
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
                    });
                // Markers help on short ranges and clutter long ones.
                if n <= 62 {
                    chart
                        .draw_series(points.iter().map(|p| Circle::new(*p, 4, color.filled())))
                        .map_err(draw_err)?;
                }
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 15))
                .draw()
                .map_err(draw_err)?;
        }
        ChartData::Dyads {
            labels,
            events,
            goldstein,
        } => {
            let bars: Vec<(String, Vec<(i64, RGBColor)>)> = labels
                .iter()
                .zip(events)
                .zip(goldstein)
                .map(|((l, e), g)| {
                    let color = if *g >= 0.0 {
                        quad_color(0)
                    } else {
                        quad_color(3)
                    };
                    (l.clone(), vec![(*e, color)])
                })
                .collect();
            let legend = [
                ("mean Goldstein ≥ 0 (cooperative)", quad_color(0)),
                ("mean Goldstein < 0 (conflictual)", quad_color(3)),
            ];
            draw_bars(
                root,
                &format!("Top dyads (source → target){range}"),
                "events",
                &bars,
                &legend,
            )?;
        }
        ChartData::Actors {
            labels,
            as_source,
            as_target,
        } => {
            let bars: Vec<(String, Vec<(i64, RGBColor)>)> = labels
                .iter()
                .zip(as_source)
                .zip(as_target)
                .map(|((l, s), t)| (l.clone(), vec![(*s, quad_color(1)), (*t, quad_color(2))]))
                .collect();
            let legend = [("as source", quad_color(1)), ("as target", quad_color(2))];
            draw_bars(
                root,
                &format!("Most active actors{range}"),
                "events",
                &bars,
                &legend,
            )?;
        }
    }
    root.present().map_err(draw_err)?;
    Ok(())
}

/// Horizontal bars, first item on top, each bar a stack of (value, colour) segments.
fn draw_bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    x_desc: &str,
    bars: &[(String, Vec<(i64, RGBColor)>)],
    legend: &[(&'static str, RGBColor)],
) -> Result<(), ChartError> {
    let n = bars.len().max(1) as i32;
    let max = bars
        .iter()
        .map(|(_, segs)| segs.iter().map(|(v, _)| v).sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let label_width = bars
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(4) as u32
        * 14
        + 30;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 30))
        .margin(16)
        .margin_right(40)
        .x_label_area_size(50)
        .y_label_area_size(label_width.clamp(60, 360))
        // An integer range 0..k has k + 1 segments: one per bar.
        .build_cartesian_2d(
            // Room on the right for the value labels and the legend.
            0i64..(max + max / 2 + 1),
            (0..(n - 1).max(1)).into_segmented(),
        )
        .map_err(draw_err)?;
    let names: Vec<String> = bars.iter().map(|(l, _)| l.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(x_desc)
        .y_labels(bars.len().max(1))
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => usize::try_from(n - 1 - i)
                .ok()
                .and_then(|i| names.get(i))
                .cloned()
                .unwrap_or_default(),
            _ => String::new(),
        })
        .x_labels(usize::try_from(max + 2).unwrap_or(10).min(10))
        .label_style(("sans-serif", 20))
        .axis_desc_style(("sans-serif", 20))
        .draw()
        .map_err(draw_err)?;
    for (i, (_, segments)) in bars.iter().enumerate() {
        let row = n - 1 - i as i32;
        let mut start = 0i64;
        for (value, color) in segments {
            let end = start + *value;
            if end > start {
                let mut rect = Rectangle::new(
                    [
                        (start, SegmentValue::Exact(row)),
                        (end, SegmentValue::Exact(row + 1)),
                    ],
                    color.filled(),
                );
                rect.set_margin(4, 4, 0, 0);
                chart.draw_series(std::iter::once(rect)).map_err(draw_err)?;
            }
            start = end;
        }
        chart
            .draw_series(std::iter::once(Text::new(
                format!(" {start}"),
                (start, SegmentValue::CenterOf(row)),
                ("sans-serif", 20),
            )))
            .map_err(draw_err)?;
    }
    for (name, color) in legend {
        let color = *color;
        chart
            .draw_series(std::iter::empty::<Rectangle<(i64, SegmentValue<i32>)>>())
            .map_err(draw_err)?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 20))
        .draw()
        .map_err(draw_err)?;
    if bars.is_empty() {
        root.draw(&Text::new(
            "no data for these filters",
            (400, 280),
            ("sans-serif", 20),
        ))
        .map_err(draw_err)?;
    }
    Ok(())
}

/// Renders a chart as an SVG document.
pub fn render_svg(data: &ChartData, filters: &Filters) -> Result<String, ChartError> {
    ensure_font()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw(&root, data, filters)?;
    }
    Ok(svg)
}

/// Renders a chart to `path`, PNG or SVG by its extension.
pub fn render_file(data: &ChartData, filters: &Filters, path: &Path) -> Result<(), ChartError> {
    ensure_font()?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "png" => {
            let root = BitMapBackend::new(path, SIZE).into_drawing_area();
            draw(&root, data, filters)
        }
        "svg" => {
            let root = SVGBackend::new(path, SIZE).into_drawing_area();
            draw(&root, data, filters)
        }
        _ => Err(ChartError::Extension(path.display().to_string())),
    }
}
