//! Results as rows of a table: a measure, its value, the target it is held
//! to. Correctness rows (lost, duplicated, reordered, failed) must hold in
//! every run, quick or full; speed targets are reported, never asserted.

use std::collections::HashMap;

use crate::checks::median;

/// A target for a measure.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    /// The value must not exceed this.
    AtMost(f64),
    /// The value must reach this.
    AtLeast(f64),
}

/// How a value is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Milliseconds, from microseconds.
    Millis,
    /// A count.
    Count,
    /// Per second.
    PerSecond,
    /// Mebibytes, from bytes.
    MiB,
    /// Kibibytes, from bytes.
    KiB,
    /// A percentage.
    Percent,
    /// CPU time per second of wall time (1.0: one core busy).
    Cores,
    /// Seconds.
    Seconds,
    /// A plain number with three decimals (CPU seconds per 1,000
    /// deliveries).
    Decimal,
    /// One side over the other (`0.50×`).
    Ratio,
}

/// One line of the results.
#[derive(Debug, Clone)]
pub struct Row {
    /// Scenario name.
    pub scenario: String,
    /// What was measured.
    pub measure: String,
    /// The value (µs for `Millis`, bytes for `MiB`/`KiB`).
    pub value: f64,
    /// How to print it.
    pub unit: Unit,
    /// Its target, if it has one.
    pub goal: Option<Goal>,
    /// A correctness check: failing it fails the run.
    pub correctness: bool,
    /// Each run's value when `value` is the median of several runs (shown
    /// for measures with a target: the spread between runs on a shared
    /// machine is part of the result).
    pub run_values: Vec<f64>,
}

impl Row {
    /// A measured value without a target.
    pub fn info(scenario: &str, measure: &str, value: f64, unit: Unit) -> Self {
        Row {
            scenario: scenario.into(),
            measure: measure.into(),
            value,
            unit,
            goal: None,
            correctness: false,
            run_values: Vec::new(),
        }
    }

    /// This row with `goal` (none: reported without a target).
    pub fn with_goal(mut self, goal: Option<Goal>) -> Self {
        self.goal = goal;
        self
    }

    /// A count that must be zero.
    pub fn zero(scenario: &str, measure: &str, value: u64) -> Self {
        Row {
            goal: Some(Goal::AtMost(0.0)),
            correctness: true,
            ..Row::info(scenario, measure, value as f64, Unit::Count)
        }
    }

    /// Whether the value meets its target.
    pub fn met(&self) -> Option<bool> {
        let scaled = self.scaled();
        self.goal.map(|g| match g {
            Goal::AtMost(max) => scaled <= max,
            Goal::AtLeast(min) => scaled >= min,
        })
    }

    /// The value in the unit it is printed in.
    fn scaled(&self) -> f64 {
        match self.unit {
            Unit::Millis => self.value / 1000.0,
            Unit::MiB => self.value / (1024.0 * 1024.0),
            Unit::KiB => self.value / 1024.0,
            _ => self.value,
        }
    }

    fn value_text(&self) -> String {
        self.format(self.value)
    }

    /// `value` (in stored units) as this row prints it.
    fn format(&self, value: f64) -> String {
        let v = Row {
            value,
            ..Row::info("", "", 0.0, self.unit)
        }
        .scaled();
        match self.unit {
            Unit::Millis => format!("{v:.2} ms"),
            Unit::Count => thousands(v.round() as u64),
            Unit::PerSecond => format!("{}/s", thousands(v.round() as u64)),
            Unit::MiB => format!("{v:.1} MiB"),
            Unit::KiB => format!("{v:.1} KiB"),
            Unit::Percent => format!("{v:+.1} %"),
            Unit::Cores => format!("{v:.2} cores"),
            Unit::Seconds => format!("{v:.2} s"),
            Unit::Decimal => format!("{v:.3}"),
            Unit::Ratio => format!("{v:.2}×"),
        }
    }

    fn goal_text(&self) -> String {
        let unit = match self.unit {
            Unit::Millis => " ms",
            Unit::PerSecond => "/s",
            Unit::MiB => " MiB",
            Unit::KiB => " KiB",
            Unit::Percent => " %",
            Unit::Cores => " cores",
            Unit::Seconds => " s",
            Unit::Ratio => "×",
            Unit::Count | Unit::Decimal => "",
        };
        match self.goal {
            None => String::new(),
            Some(Goal::AtMost(v)) => format!("≤ {}{unit}", trim_number(v)),
            Some(Goal::AtLeast(v)) => format!("≥ {}{unit}", trim_number(v)),
        }
    }
}

fn trim_number(v: f64) -> String {
    if v.fract() == 0.0 && v < 0.0 {
        format!("-{}", thousands(v.abs() as u64))
    } else if v.fract() == 0.0 {
        thousands(v as u64)
    } else {
        format!("{v}")
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One row per measure with the median of its values over several runs, in
/// the order the measures first appeared. Correctness counts take the
/// worst run, not the median.
pub fn combine_runs(runs: &[Vec<Row>]) -> Vec<Row> {
    let mut order: Vec<(String, String)> = Vec::new();
    let mut values: HashMap<(String, String), (Row, Vec<f64>)> = HashMap::new();
    for row in runs.iter().flatten() {
        let key = (row.scenario.clone(), row.measure.clone());
        values
            .entry(key.clone())
            .or_insert_with(|| {
                order.push(key);
                (row.clone(), Vec::new())
            })
            .1
            .push(row.value);
    }
    order
        .into_iter()
        .map(|key| {
            let (mut row, mut vals) = values.remove(&key).expect("key recorded");
            if row.correctness {
                row.value = vals.iter().copied().fold(0.0, f64::max);
            } else {
                if vals.len() > 1 {
                    row.run_values = vals.clone();
                }
                row.value = median(&mut vals);
            }
            row
        })
        .collect()
}

/// A Markdown table of `rows`.
pub fn table(rows: &[Row], targets_apply: bool) -> String {
    let mut out = String::from(
        "| scenario | measure | result | target | | single runs |\n|---|---|---:|---|---|---|\n",
    );
    for r in rows {
        let single_runs = if r.goal.is_some() && !r.correctness {
            let values: Vec<String> = r.run_values.iter().map(|&v| r.format(v)).collect();
            values.join(", ")
        } else {
            String::new()
        };
        let status = match r.met() {
            None => "",
            Some(true) => "met",
            Some(false) if r.correctness || targets_apply => "**MISSED**",
            Some(false) => "(quick)",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.scenario,
            r.measure,
            r.value_text(),
            r.goal_text(),
            status,
            single_runs
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_per_measure_and_worst_correctness() {
        let run = |p99: f64, lost: u64| {
            vec![
                Row::info("s", "p99", p99, Unit::Millis).with_goal(Some(Goal::AtMost(50.0))),
                Row::zero("s", "lost", lost),
            ]
        };
        let rows = combine_runs(&[run(1000.0, 0), run(3000.0, 2), run(2000.0, 0)]);
        assert_eq!(rows[0].value, 2000.0);
        assert_eq!(rows[1].value, 2.0);
        assert_eq!(rows[0].met(), Some(true));
        assert_eq!(rows[1].met(), Some(false));
        let t = table(&rows, true);
        assert!(
            t.contains("| s | p99 | 2.00 ms | ≤ 50 ms | met | 1.00 ms, 3.00 ms, 2.00 ms |"),
            "{t}"
        );
        assert!(t.contains("| s | lost | 2 | ≤ 0 | **MISSED** |  |"), "{t}");
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }
}
