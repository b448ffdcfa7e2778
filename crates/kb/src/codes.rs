//! Code tables (filled in by the knowledge-base issue).
