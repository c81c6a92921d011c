//! A virtual terminal for tests of the live view: it applies indicatif's cursor moves, clears and
//! writes to a grid of cells the way a VT100 does (including the pending wrap after the last
//! column), so a test can check exactly what a person would see, and that nothing is left over.

use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Debug)]
struct Screen {
    width: usize,
    height: usize,
    cells: Vec<Vec<char>>,
    row: usize,
    /// May equal `width`: the cursor waits after the last column until the next character.
    col: usize,
    scrolled: bool,
    writes: usize,
}

impl Screen {
    fn newline(&mut self) {
        self.col = 0;
        if self.row + 1 >= self.height {
            self.cells.remove(0);
            self.cells.push(vec![' '; self.width]);
            self.scrolled = true;
        } else {
            self.row += 1;
        }
    }

    fn put(&mut self, c: char) {
        match c {
            '\r' => self.col = 0,
            '\n' => self.newline(),
            c => {
                if self.col >= self.width {
                    self.newline();
                }
                if let Some(cell) = self
                    .cells
                    .get_mut(self.row)
                    .and_then(|row| row.get_mut(self.col))
                {
                    *cell = c;
                }
                self.col += 1;
            }
        }
    }
}

/// A cloneable handle on one virtual screen.
#[derive(Debug, Clone)]
pub(crate) struct VirtualTerminal(Arc<Mutex<Screen>>);

impl VirtualTerminal {
    pub(crate) fn new(width: usize, height: usize) -> VirtualTerminal {
        VirtualTerminal(Arc::new(Mutex::new(Screen {
            width,
            height,
            cells: vec![vec![' '; width]; height],
            row: 0,
            col: 0,
            scrolled: false,
            writes: 0,
        })))
    }

    fn screen(&self) -> MutexGuard<'_, Screen> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn size(&self) -> (usize, usize) {
        let screen = self.screen();
        (screen.width, screen.height)
    }

    /// The visible rows, right-trimmed, without the blank rows at the bottom.
    pub(crate) fn lines(&self) -> Vec<String> {
        let screen = self.screen();
        let mut lines: Vec<String> = screen
            .cells
            .iter()
            .map(|row| row.iter().collect::<String>().trim_end().to_string())
            .collect();
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        lines
    }

    /// Row and column of the cursor (the column clamped to the screen, as a terminal reports it).
    pub(crate) fn cursor(&self) -> (usize, usize) {
        let screen = self.screen();
        (screen.row, screen.col.min(screen.width.saturating_sub(1)))
    }

    /// Whether anything scrolled off the top.
    pub(crate) fn scrolled(&self) -> bool {
        self.screen().scrolled
    }

    /// How many strings were written.
    pub(crate) fn writes(&self) -> usize {
        self.screen().writes
    }
}

impl indicatif::TermLike for VirtualTerminal {
    fn width(&self) -> u16 {
        u16::try_from(self.screen().width).unwrap_or(u16::MAX)
    }

    fn height(&self) -> u16 {
        u16::try_from(self.screen().height).unwrap_or(u16::MAX)
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        let mut screen = self.screen();
        screen.row = screen.row.saturating_sub(n);
        screen.col = screen.col.min(screen.width.saturating_sub(1));
        Ok(())
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        let mut screen = self.screen();
        screen.row = (screen.row + n).min(screen.height.saturating_sub(1));
        screen.col = screen.col.min(screen.width.saturating_sub(1));
        Ok(())
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        let mut screen = self.screen();
        screen.col = (screen.col + n).min(screen.width.saturating_sub(1));
        Ok(())
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        let mut screen = self.screen();
        screen.col = screen.col.saturating_sub(n);
        Ok(())
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.write_str(s)?;
        self.screen().put('\n');
        Ok(())
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        let mut screen = self.screen();
        screen.writes += 1;
        for c in s.chars() {
            screen.put(c);
        }
        Ok(())
    }

    fn clear_line(&self) -> std::io::Result<()> {
        let mut screen = self.screen();
        let (row, width) = (screen.row, screen.width);
        if let Some(cells) = screen.cells.get_mut(row) {
            *cells = vec![' '; width];
        }
        screen.col = 0;
        Ok(())
    }

    fn flush(&self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::TermLike;

    #[test]
    fn wraps_after_the_last_column_only_when_more_follows() {
        let terminal = VirtualTerminal::new(4, 3);
        terminal.write_str("abcd").expect("write");
        assert_eq!(terminal.cursor(), (0, 3));
        terminal.write_str("ef").expect("write");
        assert_eq!(terminal.lines(), vec!["abcd", "ef"]);
        terminal.clear_line().expect("clear");
        terminal.move_cursor_up(1).expect("up");
        terminal.clear_line().expect("clear");
        assert!(terminal.lines().is_empty());
        terminal
            .write_line("1")
            .and_then(|()| terminal.write_line("2"))
            .expect("write");
        terminal.write_line("3").expect("write");
        assert!(terminal.scrolled());
    }
}
