"""What processes: the rules (pure functions), the replay driver, and the Faust agents."""
