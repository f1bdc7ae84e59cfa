package ddl

// duckdbKeywords are the keywords of DuckDB 1.5, every category (from
// duckdb_keywords()): DuckDB itself quotes all of them when it prints a type.
var duckdbKeywords = keywords(`
	between bigint bit boolean char character coalesce dec decimal exists extract float grouping
	grouping_id inout int integer interval national nchar none nullif numeric out overlay position
	precision real row setof smallint substring time timestamp treat trim values varchar
	xmlattributes xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi xmlroot
	xmlserialize xmltable abort absolute access action add admin after aggregate also alter always
	assertion assignment attach attribute backward before begin cache call called cascade cascaded
	catalog centuries century chain characteristics checkpoint class close cluster comment comments
	commit committed compression configuration conflict connection constraints content continue
	conversion copy cost csv cube current cursor cycle data database day days deallocate decade
	decades declare defaults deferred definer delete delimiter delimiters depends detach dictionary
	disable discard document domain double drop each enable encoding encrypted enum error escape
	event exclude excluding exclusive execute explain export export_state extension extensions
	external family filter first following force forward function functions global grant granted
	groups handler header hold hour hours identity if ignore immediate immutable implicit import
	include including increment index indexes inherit inherits inline input insensitive insert
	install instead invoker isolation json key label language large last leakproof level listen
	load local location lock locked logged macro mapping match matched materialized maxvalue merge
	method microsecond microseconds millennia millennium millisecond milliseconds minute minutes
	minvalue mode month months move name names new next no nothing notify nowait nulls object of
	off oids old operator option options ordinality others over overriding owned owner parallel
	parser partial partition partitioned passing password percent persistent plans policy pragma
	preceding prepare prepared preserve prior privileges procedural procedure program publication
	quarter quarters quote range read reassign recheck recursive ref referencing refresh reindex
	relative release rename repeatable replace replica reset respect restart restrict returns
	revoke role rollback rollup rows rule sample savepoint schema schemas scope scroll search
	second seconds secret security sequence sequences serializable server session set sets share
	simple skip snapshot sorted source sql stable standalone start statement statistics stdin
	stdout storage stored strict strip subscription sysid system tables tablespace target temp
	template temporary text ties transaction transform trigger truncate trusted type types
	unbounded uncommitted unencrypted unknown unlisten unlogged until update use user vacuum valid
	validate validator value variable varying version view views virtual volatile week weeks
	whitespace within without work wrapper write xml year years yes zone all analyse analyze and
	any array as asc asymmetric both case cast check collate column constraint create default
	deferrable desc describe distinct do else end except false fetch for foreign from group having
	in initially intersect into lambda lateral leading limit not null offset on only or order pivot
	pivot_longer pivot_wider placing primary qualify references returning select show some
	summarize symmetric table then to trailing true union unique unpivot using variadic when where
	window with anti asof at authorization binary by collation columns concurrently cross freeze
	full generated glob ilike inner is isnull join left like map natural notnull outer overlaps
	positional right semi similar struct tablesample try_cast unpack verbose`)

// trinoKeywords are Trino's reserved keywords (Trino docs, "Keywords and
// identifiers"), plus the type names the lake uses as column names.
var trinoKeywords = keywords(`
	alter and as between by case cast constraint create cross cube current_catalog current_date
	current_path current_role current_schema current_time current_timestamp current_user deallocate
	delete describe distinct drop else end escape except execute exists extract false for from full
	group grouping having in inner insert intersect into is join json_array json_exists json_object
	json_query json_table json_value left like listagg localtime localtimestamp natural normalize not
	null on or order outer prepare recursive right rollup select skip table then trim true uescape
	union unnest using values when where with
	date time timestamp hour level type location result user offset index key value
`)

// sparkKeywords are Spark SQL's ANSI reserved keywords (Spark docs, "ANSI
// Compliance"), plus names that are keywords in non-ANSI mode or type names.
var sparkKeywords = keywords(`
	all and any array as authorization both case cast check collate column constraint create cross
	current_date current_time current_timestamp current_user distinct else end escape except false
	fetch filter for foreign from full grant group having in inner intersect into is join lateral
	leading left natural not null offset on only or order outer overlaps primary references right
	select session_user some table then time to trailing union unique unknown user using when where
	with
	date hour timestamp interval level type location result source identity index key value
`)

// snowflakeKeywords are Snowflake's reserved and limited keywords (Snowflake
// docs, "Reserved & limited keywords").
var snowflakeKeywords = keywords(`
	account all alter and any as between by case cast check column connect connection constraint
	create cross current current_date current_time current_timestamp current_user database delete
	distinct drop else exists false following for from full grant group gscluster having ilike in
	increment inner insert intersect into is issue join lateral left like localtime localtimestamp
	minus natural not null of on or order organization qualify regexp revoke right rlike row rows
	sample schema select set some start table tablesample then to trigger true try_cast union unique
	update using values view when whenever where with
`)
