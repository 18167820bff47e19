"""Campaign pages, one module per feature. Views parse input, call one service or
selector, and render; the rules live in campaigns.rules and the services."""
