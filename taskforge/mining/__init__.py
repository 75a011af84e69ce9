"""Failure mining: judge failed episodes, embed and cluster the explanations, name the
clusters, and keep a versioned failure taxonomy in the warehouse."""
