//! Input files of the offline subcommands: a path, or `-` for standard input.

use std::io::{BufRead, BufReader};
use std::path::Path;

/// Opens `path` for buffered reading; `-` reads standard input. The error names the file.
pub fn open(path: &Path) -> Result<Box<dyn BufRead>, String> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufReader::new(std::io::stdin())));
    }
    std::fs::File::open(path)
        .map(|f| Box::new(BufReader::new(f)) as Box<dyn BufRead>)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))
}
