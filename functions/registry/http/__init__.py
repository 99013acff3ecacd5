"""HTTP: the route table, the Lambda entry and edge, the guard, RouteApp, schemas, views and problems."""
