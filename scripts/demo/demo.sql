-- DEMO DATA ONLY.  Never load this into a production database.
--
-- A module catalogue modelled on the SoftwareOne Marketplace Platform, and
-- three accounts (Client, Vendor, Operations), each with an administrator
-- (holds access-management and every module of the account) and an
-- ordinary user (no access-management).  Fixed ids, so scripts and tests
-- can name them.  No tokens: they need the server keys and are issued by
-- "apitokenctl token issue" in the run script.
--
-- Idempotent: every insert ends in ON DUPLICATE KEY UPDATE with a no-op
-- assignment, so a second run changes nothing (and leaves alone whatever
-- an operator edited since) while foreign key and CHECK errors still fail
-- loudly, which INSERT IGNORE would turn into warnings.
--
-- Apply after the migrations:  mariadb apitokend < scripts/demo/demo.sql

-- Module catalogue ---------------------------------------------------------

INSERT INTO modules (id, code, name, description, account_types) VALUES
	('MOD-1756', 'access-management', 'Access Management',
	 'Manage the access to your account: users, user groups, API tokens and the audit trail.',
	 'Client,Vendor,Operations'),
	('MOD-9042', 'account-management', 'Account Management',
	 'Manage the licensees, buyers, sellers and other account objects.',
	 'Client,Vendor,Operations'),
	('MOD-0478', 'marketplace', 'Marketplace',
	 'Buy and manage subscription licenses: browse the catalog, place orders, manage agreements and subscriptions.',
	 'Client,Operations'),
	('MOD-1239', 'billing', 'Billing',
	 'View invoices, statements, credit memos and journals.',
	 'Client,Vendor,Operations'),
	('MOD-4525', 'collaboration', 'Collaboration site',
	 'Store and share large files conveniently, and follow what needs your attention.',
	 'Client,Vendor,Operations'),
	('MOD-8352', 'program-management', 'Program management',
	 'Manage programs, enrollments and certificates.',
	 'Vendor,Operations'),
	('MOD-8743', 'catalog-management', 'Catalog management',
	 'Publish and maintain the products, items, price lists and listings you sell.',
	 'Vendor,Operations'),
	('MOD-5216', 'extensions', 'Extensions',
	 'Build, register and run extensions that automate your processes on the platform.',
	 'Vendor,Operations'),
	('MOD-3380', 'helpdesk', 'Helpdesk',
	 'Open and follow support cases with the platform team.',
	 'Client,Vendor,Operations'),
	('MOD-6601', 'platform-account-management', 'Platform account management',
	 'Manage every account of the platform: clients, vendors, their users and API tokens.',
	 'Operations')
ON DUPLICATE KEY UPDATE id = id;

INSERT INTO module_paths (module_id, path_prefix) VALUES
	('MOD-1756', '/public/v1/accounts/api-tokens'),
	('MOD-1756', '/public/v1/accounts/users'),
	('MOD-1756', '/public/v1/accounts/user-groups'),
	('MOD-1756', '/public/v1/audit/'),
	('MOD-1756', '/settings/api-tokens'),
	('MOD-9042', '/public/v1/accounts/accounts'),
	('MOD-9042', '/public/v1/accounts/buyers'),
	('MOD-9042', '/public/v1/accounts/licensees'),
	('MOD-9042', '/public/v1/accounts/sellers'),
	('MOD-0478', '/public/v1/catalog/'),
	('MOD-0478', '/public/v1/commerce/'),
	('MOD-1239', '/public/v1/billing/'),
	('MOD-4525', '/public/v1/spotlight/'),
	('MOD-4525', '/public/v1/notifications/'),
	('MOD-8352', '/public/v1/program/'),
	('MOD-8743', '/public/v1/catalog/products'),
	('MOD-8743', '/public/v1/catalog/items'),
	('MOD-8743', '/public/v1/catalog/price-lists'),
	('MOD-8743', '/public/v1/catalog/listings'),
	('MOD-8743', '/public/v1/catalog/authorizations'),
	('MOD-5216', '/public/v1/integration/'),
	('MOD-3380', '/public/v1/helpdesk/'),
	('MOD-6601', '/public/v1/accounts/')
ON DUPLICATE KEY UPDATE module_id = module_id;

-- Accounts -----------------------------------------------------------------

INSERT INTO accounts (id, name, type, status, created_at) VALUES
	('ACC-1000-0001', 'Contoso Ltd.', 'Client', 'Active', '2026-01-05 09:00:00.000'),
	('ACC-1000-0002', 'Fabrikam Software', 'Vendor', 'Active', '2026-01-05 09:05:00.000'),
	('ACC-1000-0003', 'SoftwareOne Operations', 'Operations', 'Active', '2026-01-05 08:00:00.000')
ON DUPLICATE KEY UPDATE id = id;

-- Every account starts its audit chain and its token counters at zero.
-- (The application also copes with missing rows, see docs/database.md.)
INSERT INTO audit_chain_heads (account_id) VALUES
	('ACC-1000-0001'), ('ACC-1000-0002'), ('ACC-1000-0003')
ON DUPLICATE KEY UPDATE account_id = account_id;

INSERT INTO account_token_counts (account_id) VALUES
	('ACC-1000-0001'), ('ACC-1000-0002'), ('ACC-1000-0003')
ON DUPLICATE KEY UPDATE account_id = account_id;

-- Modules enabled per account: a realistic subset for Client and Vendor
-- (not every module their type allows), every Operations module for the
-- operator.
INSERT INTO account_modules (account_id, module_id) VALUES
	-- Contoso (Client): not helpdesk
	('ACC-1000-0001', 'MOD-1756'),
	('ACC-1000-0001', 'MOD-9042'),
	('ACC-1000-0001', 'MOD-0478'),
	('ACC-1000-0001', 'MOD-1239'),
	('ACC-1000-0001', 'MOD-4525'),
	-- Fabrikam (Vendor): not collaboration, not helpdesk
	('ACC-1000-0002', 'MOD-1756'),
	('ACC-1000-0002', 'MOD-9042'),
	('ACC-1000-0002', 'MOD-1239'),
	('ACC-1000-0002', 'MOD-8352'),
	('ACC-1000-0002', 'MOD-8743'),
	('ACC-1000-0002', 'MOD-5216')
ON DUPLICATE KEY UPDATE module_id = module_id;

INSERT INTO account_modules (account_id, module_id)
SELECT 'ACC-1000-0003', m.id FROM modules m
WHERE FIND_IN_SET('Operations', m.account_types) > 0
ON DUPLICATE KEY UPDATE module_id = account_modules.module_id;

-- Users --------------------------------------------------------------------

INSERT INTO users (id, account_id, name, email, status, created_at) VALUES
	('USR-1000-0001', 'ACC-1000-0001', 'Ada Admin', 'ada.admin@contoso.example', 'Active', '2026-01-05 09:01:00.000'),
	('USR-1000-0002', 'ACC-1000-0001', 'Bob Buyer', 'bob.buyer@contoso.example', 'Active', '2026-01-05 09:02:00.000'),
	('USR-2000-0001', 'ACC-1000-0002', 'Fiona Fabrikam', 'fiona@fabrikam.example', 'Active', '2026-01-05 09:06:00.000'),
	('USR-2000-0002', 'ACC-1000-0002', 'Carl Catalog', 'carl.catalog@fabrikam.example', 'Active', '2026-01-05 09:07:00.000'),
	('USR-3000-0001', 'ACC-1000-0003', 'Olga Operator', 'olga.operator@softwareone.example', 'Active', '2026-01-05 08:01:00.000'),
	('USR-3000-0002', 'ACC-1000-0003', 'Sam Support', 'sam.support@softwareone.example', 'Active', '2026-01-05 08:02:00.000')
ON DUPLICATE KEY UPDATE id = id;

-- Administrators hold every module of their account, access-management
-- included.
INSERT INTO user_modules (user_id, module_id)
SELECT u.id, am.module_id
FROM users u JOIN account_modules am ON am.account_id = u.account_id
WHERE u.id IN ('USR-1000-0001', 'USR-2000-0001', 'USR-3000-0001')
ON DUPLICATE KEY UPDATE module_id = user_modules.module_id;

-- Ordinary users: one module each, never access-management.
INSERT INTO user_modules (user_id, module_id) VALUES
	('USR-1000-0002', 'MOD-0478'),	-- Bob Buyer: Marketplace
	('USR-2000-0002', 'MOD-8743'),	-- Carl Catalog: Catalog management
	('USR-3000-0002', 'MOD-0478')	-- Sam Support: Marketplace
ON DUPLICATE KEY UPDATE module_id = module_id;
