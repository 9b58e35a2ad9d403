"""The two use cases the engine runs through feeds, planner and applier: a sync run and a push."""
