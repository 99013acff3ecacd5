"""``make bench``: cold start, warm overhead, DynamoDB cost and asset size of every route
function, side by side with the floor and a FastAPI + Mangum peer. See docs/performance.md."""
