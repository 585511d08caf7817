//! Undo and redo over whole values (the page keeps one scenario per edit).

/// The states before (past) and after (future) the current one.
#[derive(Clone, Debug, Default)]
pub struct Undo<T> {
    past: Vec<T>,
    future: Vec<T>,
}

/// How many edits are remembered.
const LIMIT: usize = 200;

impl<T> Undo<T> {
    pub fn new() -> Self {
        Undo {
            past: Vec::new(),
            future: Vec::new(),
        }
    }

    /// Remember `before`, the state an edit is about to replace. Clears the redo list.
    pub fn record(&mut self, before: T) {
        self.past.push(before);
        if self.past.len() > LIMIT {
            self.past.remove(0);
        }
        self.future.clear();
    }

    /// The state to go back to, given the current one (kept for redo).
    pub fn undo(&mut self, current: T) -> Result<T, T> {
        match self.past.pop() {
            Some(prev) => {
                self.future.push(current);
                Ok(prev)
            }
            None => Err(current),
        }
    }

    pub fn redo(&mut self, current: T) -> Result<T, T> {
        match self.future.pop() {
            Some(next) => {
                self.past.push(current);
                Ok(next)
            }
            None => Err(current),
        }
    }

    pub fn can_undo(&self) -> bool {
        !self.past.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.future.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undo_redo_round_trip() {
        let mut u = Undo::new();
        let mut cur = 0;
        for next in 1..=3 {
            u.record(cur);
            cur = next;
        }
        cur = u.undo(cur).unwrap();
        assert_eq!(cur, 2);
        cur = u.undo(cur).unwrap();
        assert_eq!(cur, 1);
        cur = u.redo(cur).unwrap();
        assert_eq!(cur, 2);
        // A new edit drops the redo list.
        u.record(cur);
        cur = 9;
        assert!(!u.can_redo());
        assert_eq!(u.redo(cur), Err(9));
        assert_eq!(u.undo(cur), Ok(2));
        assert_eq!(u.undo(2), Ok(1));
        assert_eq!(u.undo(1), Ok(0));
        assert_eq!(u.undo(0), Err(0));
    }
}
