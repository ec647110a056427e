"""Training: one shared accelerate loop, typed configs, pickle-free resumable checkpoints."""
