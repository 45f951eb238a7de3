"""Pure, vectorised calculations: frames and scalars in, frames out."""
