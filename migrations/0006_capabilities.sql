-- What a sales agent advertises (MCP tools/list) and when it was last asked (get_adcp_capabilities).
ALTER TABLE sales_agents ADD COLUMN advertised_tools TEXT;
ALTER TABLE sales_agents ADD COLUMN capabilities_probed_at TEXT;
