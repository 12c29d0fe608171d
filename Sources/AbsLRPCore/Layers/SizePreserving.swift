/// A single-input layer whose output has exactly its input's values' count,
/// output value `i` standing for input value `i` (elementwise functions,
/// normalisations, identities, `Flatten`): where relevance can pass through
/// unchanged (``PassRule``). A layer of one's own that keeps the size
/// declares it by conforming; every other layer is refused by the pass rule
/// when a composite is applied, never trapped in a pass.
public protocol SizePreserving: Layer {}

extension ReLU: SizePreserving {}
extension GELU: SizePreserving {}
extension QuickGELU: SizePreserving {}
extension Softmax: SizePreserving {}
extension LayerNorm: SizePreserving {}
extension GroupNorm: SizePreserving {}
extension BatchNorm2d: SizePreserving {}
extension LayerScale: SizePreserving {}
extension Identity: SizePreserving {}
extension Dropout: SizePreserving {}
extension Flatten: SizePreserving {}
