"""What a run writes besides its records: sample pictures, MIDI, TensorBoard."""
