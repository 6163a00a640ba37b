"""Demo data: a fictional B2B software company ("Northwind Metrics") and its website traffic.

``spoor.demo.company`` holds the catalogue (organizations with IP ranges, people, pages,
campaigns) and ``spoor.demo.simulator`` turns it into a seeded, chronological Apache/nginx
combined access log. All addresses are inside the benchmarking range 198.18.0.0/15 and the
documentation range 2001:db8::/32, so nothing in a demo log can point at a real network.
"""
