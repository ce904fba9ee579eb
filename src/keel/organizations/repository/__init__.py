"""Every query on the organizations domain's tables. Tenant tables are reached through a
:class:`~keel.kit.repository.TenantRepository` built with the typed proof of access."""
