// Package layout holds no code: its test checks, from `go list`, that the
// module's imports run the one way the README's Architecture section
// draws:
//
//	cmd -> internal/cli -> stages, source, lake, workers -> schema
//
// A source imports no stage and no sink (lake); a sink imports no source
// and no stage; a stage imports no other stage, no workers, no source and
// no lake driver (the lake root package, the drivers' shared contract, is
// allowed); workers imports no stage, source or sink; schema imports
// nothing of the module; the internal helpers import no room above them.
// Only workers and internal/cli reach NATS: no stage, source or sink
// depends on it, in its code or in its tests.
package layout
