"""The web application: collection endpoints now; pages and API later."""
