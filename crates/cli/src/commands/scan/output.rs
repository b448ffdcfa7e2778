//! Where results go: the results file, the CSV on stdout, the fleet summary; and, at the end,
//! the summary on stdout and the HTML report.

use std::io::Write;
use std::path::Path;

use super::Fail;
use crate::args::ScanFormat;
use crate::render;
use rdpdoctor_core::evidence::Report;
use rdpdoctor_core::scan::results::ResultsWriter;
use rdpdoctor_core::scan::{FleetSummary, ServerRow};

pub struct Output {
    pub summary: FleetSummary,
    format: ScanFormat,
    results: Option<ResultsWriter>,
    csv: Option<std::io::Stdout>,
}

impl Output {
    pub fn new(summary: FleetSummary, format: ScanFormat) -> Output {
        let csv = (format == ScanFormat::Csv).then(|| {
            let mut out = std::io::stdout();
            let _ = out.write_all(render::csv::header().as_bytes());
            out
        });
        Output {
            summary,
            format,
            results: None,
            csv,
        }
    }

    pub fn set_results(&mut self, w: ResultsWriter) {
        self.results = Some(w);
    }

    /// A result from an earlier run (`--resume`, `--from`): counted and listed, not rewritten.
    pub fn previous(&mut self, report: &Report) {
        self.summary.add(report);
        self.csv_row(report);
    }

    /// A result just checked: written first, so that what was reported is what was saved.
    pub fn record(&mut self, report: &Report) -> Result<(), Fail> {
        if let Some(w) = &mut self.results {
            w.append(report)
                .map_err(|e| Fail::Failed(format!("cannot write the results file: {e}")))?;
        }
        self.summary.add(report);
        self.csv_row(report);
        Ok(())
    }

    fn csv_row(&mut self, report: &Report) {
        if let Some(out) = &mut self.csv {
            let row = ServerRow::new(report, self.summary.generated_at);
            let _ = out.write_all(render::csv::row(&row).as_bytes());
        }
    }

    /// Sync the results file, print the summary, write the report.
    pub fn finish(self, report: Option<&Path>) -> Result<(), Fail> {
        if let Some(w) = self.results {
            w.finish()
                .map_err(|e| Fail::Failed(format!("cannot flush the results file: {e}")))?;
        }
        match self.format {
            ScanFormat::Text => {
                let text = render::fleet::text(&self.summary, render::style::Style::ansi());
                let mut out = anstream::stdout();
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
            }
            ScanFormat::Json => println!("{}", render::fleet::json(&self.summary)),
            ScanFormat::Csv => {
                let _ = std::io::stdout().flush();
            }
        }
        if let Some(path) = report {
            let html = render::html::render(&self.summary)
                .map_err(|e| Fail::Failed(format!("cannot render the HTML report: {e}")))?;
            std::fs::write(path, html)
                .map_err(|e| Fail::Failed(format!("cannot write {}: {e}", path.display())))?;
            eprintln!("rdpdoctor: fleet report written to {}", path.display());
        }
        Ok(())
    }
}
