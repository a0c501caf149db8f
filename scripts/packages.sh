# What scripts/install.sh installs and scripts/bundle.sh packs: sourced by both.
PACKAGES=(openvswitch-switch mininet iproute2 iputils-ping ethtool tcpdump iperf3 fping procps graphviz
          python3 python3-venv python3-pip make openssh-server openssh-client)  # ssh: `cluster simulate`, --hosts
TEST_PACKAGES=(vagrant chromium chromium-driver)  # `make test`: the Vagrantfile validated for every laptop; the live view tested in a real browser
BUNDLE=${OVERLAYLAB_BUNDLE:-overlaylab-bundle.tar}  # when present, install.sh installs from it, offline
